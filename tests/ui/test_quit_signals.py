"""QuitOnSignal with stand-ins: the signal asks the app to exit and stops the backend
from a thread of its own, then ends the process if the app could not."""

from __future__ import annotations

import signal
import threading

from raftviz.ui.quit_signals import QuitOnSignal


def test_the_backend_stops_from_its_own_thread_and_the_process_ends_after_the_grace():
    seen: list[tuple[str, object]] = []
    quit = QuitOnSignal(lambda: seen.append(("exit", threading.current_thread().name)),
                        lambda: seen.append(("close", threading.current_thread().name)),
                        grace=0.0, leave=lambda status: seen.append(("leave", status)))
    quit.on_signal(signal.SIGHUP, None)
    quit.on_signal(signal.SIGTERM, None)            # a second signal starts nothing more
    assert quit.quitting is not None
    quit.quitting.join(5.0)
    assert seen.count(("exit", threading.current_thread().name)) == 2
    assert [s for s in seen if s[0] != "exit"] == [("close", "quit"), ("leave", 0)]


def test_the_process_ends_even_when_stopping_the_backend_fails():
    left: list[int] = []

    def failing() -> None:
        raise RuntimeError("a member would not stop")
    quit = QuitOnSignal(lambda: None, failing, grace=0.0, leave=left.append)
    threading.excepthook, hook = (lambda args: None), threading.excepthook
    try:
        quit.on_signal(signal.SIGTERM, None)
        quit.quitting.join(5.0)
    finally:
        threading.excepthook = hook
    assert left == [0]
