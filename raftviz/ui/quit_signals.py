"""kill, or the terminal closing: the interface quits like Ctrl-Q, and the cluster its
backend started stops even when Textual cannot shut down.

When the terminal is gone, Textual's output thread dies on its first write with frames
still queued; the next frame, or Textual's own shutdown, then waits on that queue for
ever, and the event loop with it (the members, which the backend stops only once the app
has returned, were left running). So the signal is taken by Python's own handler, which
runs in the main thread even while it waits on a lock (an asyncio signal handler would
wait for the loop): it asks the app to exit, and a thread stops the backend at once and,
if the process has not ended QUIT_GRACE_S later, ends it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable

QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
QUIT_GRACE_S = 5.0


class QuitOnSignal:
    def __init__(self, exit_soon: Callable[[], None], close_backend: Callable[[], None] | None,
                 grace: float = QUIT_GRACE_S, leave: Callable[[int], object] = os._exit) -> None:
        self.exit_soon, self.close_backend = exit_soon, close_backend
        self.grace, self.leave = grace, leave
        self.quitting: threading.Thread | None = None

    def install(self) -> None:
        for quit_signal in QUIT_SIGNALS:
            signal.signal(quit_signal, self.on_signal)

    def on_signal(self, signum: int, frame: object) -> None:
        if self.quitting is None:
            self.quitting = threading.Thread(target=self._stop_then_leave, name="quit",
                                             daemon=True)
            self.quitting.start()
        self.exit_soon()

    def _stop_then_leave(self) -> None:
        try:
            if self.close_backend is not None:
                self.close_backend()
        finally:
            time.sleep(self.grace)      # the app's own way out, if it still has one
            self.leave(0)
