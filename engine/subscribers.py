"""Who to tell when a backend's view changes: the simulator backends and the live
backend's notifier each keep one."""

from __future__ import annotations

from typing import Callable, Iterator


class Subscribers:
    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Add `callback`; the returned function removes it (twice is harmless)."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)
        return unsubscribe

    def notify(self) -> None:
        for callback in list(self._callbacks):   # a callback may unsubscribe itself
            callback()

    def __iter__(self) -> Iterator[Callable[[], None]]:
        return iter(list(self._callbacks))
