"""Everything one simulation run is made of, derived from its seed alone.

`derive_params(seed, nodes)` draws the Raft settings, every node's tick period (clock drift),
the network's latency, loss and duplication, the disk's latency, the workload and the mix
of faults from one `random.Random(seed)`, so printing the seed is enough to reproduce a
run. Tests and benchmarks may pin some fields with `overrides`; the CLI never does, except
for the planted bug switch.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from .host import NodeParams

TICK = 100            # simulated time units in one nominal tick
FAULT_KINDS = (
    "partition", "isolate", "bridge", "one_way", "slow_node", "crash", "slow_disk",
    "transfer", "snapshot", "membership", "heal_net",
)
NETWORK_FAULTS = frozenset({"partition", "isolate", "bridge", "one_way", "slow_node"})


@dataclass(frozen=True, slots=True)
class SimParams:
    seed: int
    nodes: int
    # Raft
    election_tick: int
    heartbeat_tick: int
    pre_vote: bool
    check_quorum: bool
    snapshot_count: int
    catchup_entries: int
    max_size_per_msg: int            # bytes; small values split appends entry by entry
    max_inflight_msgs: int
    unsafe_commit_old_terms: bool
    # time: each node ticks at its own period, in time units (clock drift)
    tick_periods: tuple[int, ...]
    # network: latency lo + [0, span) time units; reordering comes from the spread
    latency_lo: int
    latency_span: int
    drop_rate: float
    dup_rate: float
    # disk: a synced Ready becomes durable lo + [0, span) time units after it is taken
    disk_lo: int
    disk_span: int
    # workload
    clients: int
    think_lo: int
    think_span: int
    read_ratio: float
    # faults
    fault_ticks: int                 # length of the fault phase, in nominal ticks
    nemesis_lo: int                  # time units between two fault actions
    nemesis_span: int
    fault_weights: tuple[tuple[str, int], ...]
    leader_bias: float               # how often a fault aims at the leader on purpose
    max_downtime: int                # a crashed node restarts within this many ticks
    liveness_ticks: int              # after healing, probe writes must commit within this
    liveness_writes: int             # ... this many of them, one after the other

    def node_params(self) -> NodeParams:
        return NodeParams(
            election_tick=self.election_tick, heartbeat_tick=self.heartbeat_tick,
            pre_vote=self.pre_vote, check_quorum=self.check_quorum,
            snapshot_count=self.snapshot_count, catchup_entries=self.catchup_entries,
            max_size_per_msg=self.max_size_per_msg, max_inflight_msgs=self.max_inflight_msgs,
            unsafe_commit_old_terms=self.unsafe_commit_old_terms,
        )

    def describe(self) -> str:
        faults = ",".join(f"{k}:{w}" for k, w in self.fault_weights) or "none"
        flags = "".join([" pre-vote" if self.pre_vote else "",
                         " check-quorum" if self.check_quorum else "",
                         " UNSAFE-COMMIT-OLD-TERMS" if self.unsafe_commit_old_terms else ""])
        return (f"seed {self.seed}: {self.nodes} nodes, election {self.election_tick} "
                f"heartbeat {self.heartbeat_tick}{flags}, snapshot every "
                f"{self.snapshot_count or '-'}, msg size {self.max_size_per_msg} inflight "
                f"{self.max_inflight_msgs}, ticks {list(self.tick_periods)}, latency "
                f"{self.latency_lo}+{self.latency_span}, drop {self.drop_rate:.3f} dup "
                f"{self.dup_rate:.3f}, disk {self.disk_lo}+{self.disk_span}, "
                f"{self.clients} clients, {self.fault_ticks} fault ticks, faults {faults}")


def derive_params(seed: int, nodes: int, **overrides) -> SimParams:
    """All parameters of run `seed`, with `overrides` (field=value) pinned."""
    rng = random.Random(seed)
    fields = {"seed": seed, "nodes": nodes}
    fields.update(_raft(rng))
    fields.update(_clocks(rng, nodes))
    fields.update(_network(rng))
    fields.update(_disk_and_workload(rng))
    fields.update(_faults(rng, nodes))
    fields["unsafe_commit_old_terms"] = False
    fields["liveness_ticks"] = 40 * fields["election_tick"] + 100
    fields["liveness_writes"] = 3
    return dataclasses.replace(SimParams(**fields), **overrides)


def _raft(rng: random.Random) -> dict:
    election = rng.randint(5, 15)
    snapshot_count = 0 if rng.random() < 0.4 else rng.randint(3, 40)
    return {
        "election_tick": election,
        "heartbeat_tick": rng.randint(1, max(1, election // 4)),
        "pre_vote": rng.random() < 0.8,
        "check_quorum": rng.random() < 0.8,
        "snapshot_count": snapshot_count,
        "catchup_entries": rng.randint(0, 10),
        "max_size_per_msg": rng.choice((1, 64, 1 << 20)),
        "max_inflight_msgs": rng.choice((1, 4, 256)),
    }


def _clocks(rng: random.Random, nodes: int) -> dict:
    # Node clocks draw from their own stream, so the cluster size shifts no other draw.
    drift = rng.choice((0.0, 0.02, 0.05, 0.1, 0.2))
    clocks = random.Random(rng.getrandbits(64))
    periods = tuple(max(1, round(TICK * (1 + clocks.uniform(-drift, drift))))
                    for _ in range(nodes))
    return {"tick_periods": periods}


def _network(rng: random.Random) -> dict:
    wide = rng.random() < 0.2     # a wide spread reorders a lot, even across heartbeats
    return {
        "latency_lo": rng.randint(1, 10),
        "latency_span": rng.randint(1, 250 if wide else 60),
        "drop_rate": 0.0 if rng.random() < 0.3 else rng.uniform(0.0, 0.1),
        "dup_rate": 0.0 if rng.random() < 0.4 else rng.uniform(0.0, 0.05),
    }


def _disk_and_workload(rng: random.Random) -> dict:
    return {
        "disk_lo": rng.randint(1, 5),
        "disk_span": rng.randint(1, 30),
        "clients": rng.randint(1, 4),
        "think_lo": rng.randint(5, 50),
        "think_span": rng.randint(1, 250),
        "read_ratio": rng.uniform(0.0, 0.5),
    }


def _faults(rng: random.Random, nodes: int) -> dict:
    drawn = {kind: rng.choice((0, 1, 1, 2, 3)) for kind in FAULT_KINDS}
    if rng.random() < 0.5:
        drawn["membership"] = 0     # membership changes in about half the runs
    weights = [(kind, w) for kind, w in drawn.items() if w and _applies(kind, nodes)]
    gap = rng.randint(4, 30) * TICK
    return {
        "fault_ticks": rng.randint(150, 300),
        "nemesis_lo": gap // 2,
        "nemesis_span": gap,
        "fault_weights": tuple(weights),
        "leader_bias": rng.uniform(0.2, 0.7),
        "max_downtime": rng.randint(5, 40),
    }


def _applies(kind: str, nodes: int) -> bool:
    if nodes == 1:
        return kind not in NETWORK_FAULTS and kind not in ("transfer", "membership")
    return kind != "membership" or nodes >= 3
