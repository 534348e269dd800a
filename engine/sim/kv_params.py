"""What a keyspace run is made of beyond the Raft run's parameters, and the planted bugs.

`derive_kv_params(seed)` draws the keyspace workload (how many keys the clients fight
over, the mix of operations, watchers, lease clients, compaction, torn writes) from its
own stream, so the Raft parameters of a seed stay what `derive_params` says.

A `PlantedBug` is a deliberate mistake the simulator can be told to make, to show the
checkers catch it; none is ever on by default. `BUG_SETTINGS` holds, per bug, the Raft
run's parameters that make its harm likely (as campaign.PLANTED_BUG does for the Raft
bug); they can be used with the bug off too, to show the same faults alone are harmless.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from .campaign import PLANTED_BUG
from .params import TICK


class PlantedBug(enum.Enum):
    STALE_READ = "stale-read"                  # a leader serves linearizable reads from its
                                               # own state, without a ReadIndex round
    COMMIT_OLD_TERMS = "commit-old-terms"      # Raft commits older-term entries by counting
    ACK_BEFORE_FSYNC = "ack-before-fsync"      # a put is answered once the leader appended
                                               # it, before its disk sync
    WATCH_SKIPS_REVISION = "watch-skip"        # a watch resumed at revision r starts at r+1
    LEASE_NOT_EXTENDED = "lease-not-extended"  # a new leader keeps old lease deadlines

    @classmethod
    def named(cls, name: str) -> PlantedBug:
        for bug in cls:
            if bug.value == name:
                return bug
        raise ValueError(f"unknown planted bug {name!r}; one of "
                         f"{', '.join(b.value for b in cls)}")


OPS = ("put", "get", "get-serializable", "get-at", "delete", "cas", "txn-2", "compact")


@dataclass(frozen=True, slots=True)
class KVParams:
    clients: int                             # KV clients (the Raft run's count is replaced)
    keys: int                                # the KV clients share keys k0..k{keys-1}
    mix: tuple[tuple[str, int], ...]         # operation -> weight
    watchers: int
    lease_clients: int
    lease_rounds: tuple[int, int]            # keep-alives per lease, lo..hi
    resume_every: tuple[int, int]            # ticks between a watcher's voluntary resumes
    torn_write_rate: float                   # a crash tears the write in flight this often
    disk_scale: int                          # disk syncs take this many times longer
    settle_ticks: int                        # after recovery, at most this long to settle
    bug: PlantedBug | None = None

    def describe(self) -> str:
        mix = ",".join(f"{op}:{w}" for op, w in self.mix if w)
        bug = f", PLANTED BUG {self.bug.value}" if self.bug else ""
        return (f"{self.clients} KV clients on {self.keys} keys, mix {mix}, "
                f"{self.watchers} watchers, {self.lease_clients} lease clients, torn writes "
                f"{self.torn_write_rate:.2f}, disks x{self.disk_scale}{bug}")


def derive_kv_params(seed: int, bug: PlantedBug | None = None,
                     profile: PlantedBug | None = None) -> KVParams:
    """The keyspace side of run `seed`; `profile` (default: the bug) picks the workload
    that exposes a bug, so the same run can be made with the bug off."""
    rng = random.Random(f"kv/{seed}")
    profile = profile or bug
    weights = {"put": rng.randint(2, 6), "get": rng.randint(2, 6),
               "get-serializable": rng.randint(0, 2), "get-at": rng.randint(0, 2),
               "delete": rng.randint(0, 2), "cas": rng.randint(1, 4),
               "txn-2": rng.randint(0, 2), "compact": rng.choice((0, 0, 1))}
    return KVParams(
        clients=rng.randint(2, 6),
        keys=rng.choice((1, 2, 3, 3, 4)),
        mix=tuple((op, weights[op]) for op in OPS),
        watchers=rng.randint(1, 2),
        lease_clients=rng.randint(0, 1) if profile is not PlantedBug.LEASE_NOT_EXTENDED else 2,
        lease_rounds=(2, 8),
        resume_every=(10, 40),
        torn_write_rate=rng.choice((0.0, 0.5, 1.0)),
        disk_scale=rng.choice((1, 1, 4)),
        settle_ticks=120,
        bug=bug,
    )


# Faults and timings that make each bug's harm likely within a few seeds.
BUG_SETTINGS: dict[PlantedBug, dict] = {
    PlantedBug.COMMIT_OLD_TERMS: dict(PLANTED_BUG, fault_ticks=600),
    PlantedBug.STALE_READ: {
        "check_quorum": False, "pre_vote": False,
        "fault_weights": (("isolate", 3), ("partition", 2), ("one_way", 1)),
        "leader_bias": 0.9, "clients": 4, "read_ratio": 0.0,
    },
    PlantedBug.ACK_BEFORE_FSYNC: {
        "fault_weights": (("crash", 3), ("slow_disk", 3), ("isolate", 1)),
        "leader_bias": 0.9, "clients": 4, "disk_lo": 20, "disk_span": 80,
        "nemesis_lo": 4 * TICK, "nemesis_span": 10 * TICK, "max_downtime": 8,
    },
    PlantedBug.WATCH_SKIPS_REVISION: {"clients": 4},
    PlantedBug.LEASE_NOT_EXTENDED: {
        "fault_weights": (("transfer", 3), ("isolate", 1)),
        "leader_bias": 0.9, "nemesis_lo": 10 * TICK, "nemesis_span": 20 * TICK,
    },
}
