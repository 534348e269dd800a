"""The simulator runs the keyspace too: every member applies the log to a KVStore, clients
use it, and after every run all members have the same HashKV at every common revision
and the same state, and the recorded history passes every checker."""

from engine import check
from engine.kv import PutRequest
from engine.sim.kv_campaign import kv_params, run_kv_seed
from engine.sim.kv_verify import check_hash_kv, check_same_state, revision_hashes, verify
from engine.sim.kv_world import KVWorld


def run(seed, nodes=3, **overrides):
    params, kvp = kv_params(seed, nodes, **overrides)
    world = KVWorld(params, kvp)
    result = world.run()
    return world, result


def members(world):
    return [(n.id, n.app.store) for n in world.nodes[1:] if n.up]


def test_a_run_is_a_pure_function_of_its_seed():
    a, b = run_kv_seed(21, 3), run_kv_seed(21, 3)
    assert a.trace == b.trace and a.run.trace == b.run.trace and a.operations == b.operations
    assert run_kv_seed(22, 3).trace != a.trace


def test_members_agree_on_hash_kv_at_every_common_revision_and_on_their_state():
    world, result = run(3)
    assert result.violation is None and world.settled
    stores = members(world)
    hashes = [revision_hashes(store) for _, store in stores]
    assert len(hashes[0]) > 20 and all(h == hashes[0] for h in hashes)
    for _, store in stores:
        for rev in list(hashes[0])[::7]:
            assert store.hash_kv(rev).hash == hashes[0][rev]
    assert check_hash_kv(stores) == [] and check_same_state(stores) == []


def test_a_member_that_diverges_is_caught_by_hash_kv():
    world, _ = run(3)
    stores = members(world)
    for node, store in stores:               # the same revision, a different write on one
        store.apply(PutRequest(b"k0", b"odd one out" if node == stores[1][0] else b"same"))
    found = check_hash_kv(stores)
    assert len(found) == 1 and found[0].checker == "hash-kv"
    assert f"members 1 and {stores[1][0]}" in found[0].summary
    assert check_same_state(stores)[0].checker == "convergence"


def test_the_history_is_rich_and_passes_every_checker():
    world, result = run(7)
    ops = world.workload.history.operations()
    kinds = {type(op.request).__name__ for op in ops}
    assert {"Put", "Get", "Txn", "LeaseGrant", "LeaseKeepAlive"} <= kinds
    assert sum(op.complete is not None for op in ops) > 100
    verdicts = verify(world)
    assert verdicts.findings == [] and verdicts.undecided == []
    assert verdicts.histories > 10
    streams = [s for c in world.workload.clients for s in getattr(c, "streams", ())]
    assert len(streams) >= 3 and sum(len(s.replies) for s in streams) > 20


def test_the_raft_invariants_still_watch_the_keyspace_runs():
    result = run_kv_seed(3, 3)
    assert result.run.violation is None and result.run.recovery_ticks is not None
    assert result.run.writes > 50


def test_single_node_and_seven_node_clusters():
    for nodes in (1, 7):
        result = run_kv_seed(4, nodes)
        assert result.findings == [], result.findings


def test_check_types_come_through_the_conversion():
    world, _ = run(2)
    ops = world.workload.history.operations()
    reads = [op for op in ops if isinstance(op.response, check.Read) and op.response.kv]
    assert reads and all(op.response.kv.mod > 1 for op in reads)
    deletes = [op for op in ops if isinstance(op.request, check.Delete) and
               isinstance(op.response, check.Written) and op.response.deleted]
    assert all(op.response.prev is not None for op in deletes)
