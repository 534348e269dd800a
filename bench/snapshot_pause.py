"""How a live cluster's writes fare while its members take their first snapshot.

    python bench/snapshot_pause.py [--seconds-per-phase 3] [--after 20000]

Starts a fresh local 3-member cluster (as `raftviz` does, snapshot every 100,000 entries),
drives closed-loop puts (raftviz.bench_load, 64 in flight, keys bench/00000000-00099999)
in short phases until the Raft index is `--after` entries past the snapshot, and prints
each phase's puts/s and p99, marking the phase the snapshot fell in. The phases before
it are the reference: a member that stalls to snapshot shows as one phase far slower.
"""

from __future__ import annotations

import argparse
import sys

from raftviz.bench_ui import closed_loop
from raftviz.live import LEADER_WAIT_S
from raftviz.live_procs import LocalCluster
from raftviz.status import status_of

SNAPSHOT_COUNT = 100_000     # the members' default (--snapshot-count)


def raft_index(url: str) -> int:
    status = status_of(url, timeout=5)
    if status is None:
        raise SystemExit(f"snapshot_pause: {url} did not answer Status within 5 s")
    return status.raftIndex


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds-per-phase", type=float, default=3.0)
    p.add_argument("--after", type=int, default=20_000,
                   help="entries past the snapshot to go on for (default 20000)")
    args = p.parse_args(argv)
    cluster = LocalCluster(3, None, 100, 1000)
    try:
        cluster.start(LEADER_WAIT_S)
        urls = cluster.client_urls()
        index = raft_index(urls[0])
        print(f"{'until index':>12} {'puts/s':>8} {'p99 ms':>8}")
        while index < SNAPSHOT_COUNT + args.after:
            figures = closed_loop(urls, args.seconds_per_phase, 64)
            before, index = index, raft_index(urls[0])
            mark = "  <- the snapshot" if before < SNAPSHOT_COUNT <= index else ""
            print(f"{index:>12} {figures.rate:>8.0f} {figures.p99:>8.1f}{mark}", flush=True)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
