"""The reference load of `raftviz bench ui`: a process that only takes CPU.

    python -m raftviz.bench_busy 0.35

It keeps its CPU time at the given share of the time elapsed, a millisecond of work at a
time, until it is terminated; then it prints the share it took. Set beside the cluster in
place of the interface, it shows how much any process taking that much CPU slows the
cluster on this machine.
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Callable

SLICE_S = 0.001


def burn(share: float, now: Callable[[], float], cpu: Callable[[], float],
         rest: Callable[[float], None], running: Callable[[], bool] = lambda: True) -> None:
    """Work while this process's CPU time is behind `share` of the time elapsed, rest
    while it is ahead."""
    start, used = now(), cpu()
    while running():
        if cpu() - used < share * (now() - start):
            stop = cpu() + SLICE_S
            while cpu() < stop:
                pass
        else:
            rest(SLICE_S)


def main(argv: list[str]) -> int:
    try:
        share = float(argv[0])
        if not 0 < share <= 1:
            raise ValueError
    except (IndexError, ValueError):
        print("raftviz.bench_busy: error: give the share of one core to take, "
              "above 0 and at most 1", file=sys.stderr)
        return 2
    start = time.monotonic()

    def report(*_) -> None:
        print(f"{time.process_time() / (time.monotonic() - start):.4f}", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, report)
    burn(share, time.monotonic, time.process_time, time.sleep)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
