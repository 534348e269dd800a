"""After a keyspace run: do the members agree, and does what the clients saw hold up?

- HashKV: every member's etcd HashKV at every revision it shares with the others that
  have the same compaction point must be equal. The hashes of all revisions are computed
  in one pass over the member's stored records with etcd's algorithm (engine.kv.etcdhash,
  incrementally, as HashKV(rev) is a running CRC), and the pass is held to the member's
  own `hash_kv` at the first and last revision, so it cannot drift from it.
- Identical state: once the run has settled (every member applied the same index), every
  member's snapshot is the same bytes.
- The history, through every checker of engine.check: linearizability, watches,
  durability and leases.
"""

from __future__ import annotations

from engine import check
from engine.check import Finding, Verdicts
from engine.kv.etcdhash import crc32c, encode_key_value, revision_key
from engine.kv.snapshot import decode_snapshot

from .kv_app import store_history
from .kv_workload import STAMP_BITS, STAMPS_PER_SECOND, show_stamp
from .params import TICK


def verify(world) -> Verdicts:
    world.workload.close_watches()       # a run cut short by a Raft violation left some open
    members = [(n.id, n.app.store) for n in world.nodes[1:] if n.up]
    out = Verdicts()
    if not members:
        return out
    out.findings += check_hash_kv(members)
    if world.settled:
        out.findings += check_same_state(members)
    elif world.settle_timed_out:
        out.findings.append(Finding("convergence", "members had not applied the same log "
                                    f"{world.kv_params.settle_ticks} ticks after recovery",
                                    tuple(world.describe_members())))
    out.extend(check_history(world, _reference(world, members)))
    return out


def _reference(world, members: list) -> object:
    """Whose history the checkers use: the leader's, or the most advanced member's."""
    lead = world.leader()
    if lead is not None:
        return lead.app.store
    return max(members, key=lambda m: m[1].current_revision)[1]


def revision_hashes(store) -> dict[int, int]:
    """HashKV at every revision above the member's compaction point, in one pass."""
    state = decode_snapshot(store.snapshot())
    compact, records = state.compact_rev, state.records
    crc, n, hashes = crc32c(b"key"), 0, {}
    for rev in range(compact + 1, state.current_rev + 1):
        while n < len(records) and records[n].rev.main <= rev:
            r = records[n]
            if not (r.tombstone and r.rev.main <= compact):
                crc = crc32c(revision_key(r.rev.main, r.rev.sub, r.tombstone), crc)
                crc = crc32c(encode_key_value(r.kv, r.tombstone), crc)
            n += 1
        hashes[rev] = crc
    return hashes


def check_hash_kv(members: list) -> list[Finding]:
    computed = {}
    for node, store in members:
        hashes = revision_hashes(store)
        for rev in (min(hashes), max(hashes)):
            if store.hash_kv(rev).hash != hashes[rev]:
                return [Finding("hash-kv", f"member {node}: the one-pass HashKV at revision "
                                f"{rev} differs from the member's own hash_kv")]
        computed[node] = (store.compact_revision, hashes)
    return _compare_hashes(computed)


def _compare_hashes(computed: dict) -> list[Finding]:
    nodes = sorted(computed)
    for a in nodes:
        for b in nodes:
            if a >= b or computed[a][0] != computed[b][0]:
                continue
            ha, hb = computed[a][1], computed[b][1]
            for rev in sorted(set(ha) & set(hb)):
                if ha[rev] != hb[rev]:
                    return [Finding("hash-kv", f"members {a} and {b} have different HashKV "
                                    f"at revision {rev}: {ha[rev]:08x} vs {hb[rev]:08x}")]
    return []


def check_same_state(members: list) -> list[Finding]:
    first_node, first = members[0]
    reference = first.snapshot()
    for node, store in members[1:]:
        if store.snapshot() != reference:
            return [Finding("convergence", f"members {first_node} and {node} applied the "
                            f"same log but hold different keyspaces (revisions "
                            f"{first.current_revision} and {store.current_revision})")]
    return []


def check_history(world, store) -> Verdicts:
    w = world.workload
    ops = w.history.operations()
    history = store_history(store)
    streams = [s for c in w.clients for s in getattr(c, "streams", ())]
    out = check.check_linearizable(ops, show_stamp)
    out.extend(check.check_watches(streams, history, show_stamp))
    out.extend(check.check_durability(ops, history, show_stamp))
    out.extend(check.check_leases(ops, history, lease_bounds(world), show_stamp))
    return out


def lease_bounds(world) -> check.LeaseBounds:
    p = world.params
    election = p.election_tick * TICK / 1000
    quiet = None
    if world.recovered_at is not None:
        quiet = max(world.recovered_at, world.last_promotion) << STAMP_BITS
    return check.LeaseBounds(
        per_second=STAMPS_PER_SECOND,
        min_factor=min(p.tick_periods) / TICK, max_factor=max(p.tick_periods) / TICK,
        extend=election, max_late=2.0 + 2 * election, quiet_from=quiet,
        end=world.now << STAMP_BITS)
