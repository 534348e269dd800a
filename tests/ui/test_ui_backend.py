"""SimBackend: determinism, history (undo, redo, fork, go-to), messages, faults, keyspace."""

import pytest

from engine import observe as o
from engine.observe import Backend, CommandRefused, CrashMode, MessageStatus
from engine.sim.backend import SimBackend
from engine.sim.ui_script import ScriptError, command_line, dump, load, parse_command


def elected(seed: int = 1, nodes: int = 3) -> SimBackend:
    b = SimBackend(nodes, seed=seed)
    for _ in range(60):
        b.execute(o.Tick())
        if b.view().leader() is not None:
            return b
    raise AssertionError("no leader after 60 ticks")


def settle(b: SimBackend, ticks: int = 5) -> None:
    b.execute(o.Tick(ticks))


SESSION = [o.Tick(25), o.Client("put a 1"), o.Tick(3), o.Hold(), o.Tick(2),
           o.Partition.groups((1,), (2, 3)), o.Hold(False), o.Tick(30), o.Heal(), o.Tick(10)]


def test_it_is_a_backend():
    assert isinstance(SimBackend(), Backend)


def test_same_seed_and_commands_give_identical_views():
    views = []
    for _ in range(2):
        b = SimBackend(3, seed=7)
        for cmd in SESSION:
            b.execute(cmd)
        views.append(b.view())
    assert views[0] == views[1]


def test_different_seeds_differ():
    a, b = SimBackend(3, seed=1), SimBackend(3, seed=2)
    a.execute(o.Tick(30))
    b.execute(o.Tick(30))
    assert a.view().messages != b.view().messages or a.view().nodes != b.view().nodes


def test_undo_redo_and_go_to_rebuild_exactly():
    b = SimBackend(3, seed=3)
    snapshots = [b.view()]
    for cmd in SESSION * 3:
        b.execute(cmd)
        snapshots.append(b.view())
    b.execute(o.Undo())
    assert b.view().nodes == snapshots[-2].nodes
    b.execute(o.GoTo(4))
    assert b.view().nodes == snapshots[4].nodes and b.view().time == snapshots[4].time
    b.execute(o.Redo())
    assert b.view().logs == snapshots[5].logs
    b.execute(o.GoTo(len(snapshots) - 1))
    assert b.view().messages == snapshots[-1].messages


def test_a_new_command_after_undo_forks_the_history():
    b = elected()
    end = b.view().event
    b.execute(o.Client("put x 1"))
    b.execute(o.Undo())
    b.execute(o.Client("put y 2"))
    assert b.view().event == b.view().last_event == end + 1
    with pytest.raises(CommandRefused):
        b.execute(o.Redo())


def test_undo_at_the_start_is_refused():
    with pytest.raises(CommandRefused, match="Nothing to undo"):
        SimBackend().execute(o.Undo())


def test_a_refused_command_changes_nothing():
    b = elected()
    before = b.view()
    with pytest.raises(CommandRefused):
        b.execute(o.Restart(1))
    assert b.view() == before


def test_hold_then_deliver_and_drop_by_id():
    b = elected()
    b.execute(o.Hold())
    b.client("put k v")
    held = [m for m in b.view().messages if m.status is MessageStatus.HELD]
    assert held and all(m.deliver_at is None for m in held)
    first, second = held[0], held[1]
    b.execute(o.Deliver(first.id))
    b.execute(o.Drop(second.id))
    history = {m.id: m for m in b.view().history}
    assert history[first.id].status is MessageStatus.DELIVERED
    assert history[second.id].status is MessageStatus.DROPPED
    assert "dropped by you" in history[second.id].note
    with pytest.raises(CommandRefused, match="not waiting"):
        b.execute(o.Deliver(first.id))


def test_held_messages_never_arrive_by_themselves():
    b = elected()
    b.execute(o.Hold())
    b.client("put k v")
    b.execute(o.Tick(3))
    assert b.view().keyspace == ()
    b.execute(o.Hold(False))
    settle(b)
    assert [k.key for k in b.view().keyspace] == ["k"]


def test_deliver_all_moves_the_world_on():
    b = elected()
    b.execute(o.Hold())
    b.client("put k v")
    for _ in range(6):
        if any(m.status is MessageStatus.HELD for m in b.view().messages):
            b.execute(o.DeliverAll())
    trace = b.view().requests[-1]
    assert trace.status == "done" and trace.answer == "OK"


def test_isolating_the_leader_elects_another():
    b = elected(seed=5)
    old = b.view().leader()
    others = tuple(n.id for n in b.view().nodes if n.id != old.id)
    b.execute(o.Partition.groups((old.id,), others))
    b.execute(o.Tick(40))
    new = b.view().leader()
    assert new is not None and new.id != old.id and new.term > old.term
    b.execute(o.Heal())
    b.execute(o.Tick(10))
    assert b.view().node(old.id).role == "follower"


def test_one_way_cut_is_one_way():
    b = elected()
    leader = b.view().leader().id
    follower = next(n.id for n in b.view().nodes if n.id != leader)
    note = b.execute(o.Partition.one_way(leader, follower))
    assert f"{leader}→{follower}" in note
    assert b.view().network.cuts == ((leader, follower),)


def test_crash_keep_disk_keeps_the_log():
    b = elected()
    b.client("put a 1")
    settle(b)
    last = b.view().node(2).last_index
    note = b.execute(o.Crash(2, CrashMode.KEEP_DISK))
    assert "keeps everything" in note
    down = b.view().node(2)
    assert not down.up and down.state_text == "down" and down.last_index == last
    b.execute(o.Restart(2))
    settle(b)
    assert b.view().node(2).applied == b.view().node(1).applied


def test_crash_lose_unsynced_loses_writes_waiting_for_fsync():
    b = elected()
    b.execute(o.SetDisk(50))
    leader = b.view().leader().id
    follower = next(n.id for n in b.view().nodes if n.id != leader)
    before = b.view().node(follower).last_index
    b.client("put a 1")
    for _ in range(40):
        if b.view().node(follower).syncing:
            break
        b.execute(o.Step())
    assert b.view().node(follower).syncing == 1
    note = b.execute(o.Crash(follower, CrashMode.LOSE_UNSYNCED))
    assert "1 entries written but not yet fsynced are gone" in note
    assert b.view().node(follower).last_index == before


def test_crash_wipe_empties_the_disk():
    b = elected()
    b.client("put a 1")
    settle(b)
    b.execute(o.Crash(3, CrashMode.WIPE))
    assert b.view().node(3).last_index == 0 and b.view().node(3).term == 0


def test_pause_node_freezes_it_and_its_inbox():
    b = elected()
    follower = next(n.id for n in b.view().nodes if not n.is_leader)
    b.execute(o.PauseNode(follower))
    b.client("put a 1")
    settle(b)
    assert b.view().node(follower).applied < b.view().leader().applied
    b.execute(o.PauseNode(follower, paused=False))
    settle(b)
    assert b.view().node(follower).applied == b.view().leader().applied


def test_transfer_leadership():
    b = elected()
    target = next(n.id for n in b.view().nodes if not n.is_leader)
    b.execute(o.TransferLeader(target))
    settle(b, 3)
    assert b.view().leader().id == target


def test_learner_joins_and_is_promoted():
    b = elected()
    note = b.execute(o.AddLearner())
    assert "Node 4 joins as a learner" in note
    settle(b, 10)
    four = b.view().node(4)
    assert four.learner and not four.voter and four.applied == b.view().leader().applied
    b.execute(o.Promote(4))
    settle(b, 10)
    assert b.view().node(4).voter


def test_remove_member_stops_it():
    b = elected()
    victim = next(n.id for n in b.view().nodes if not n.is_leader)
    b.execute(o.RemoveMember(victim))
    settle(b, 10)
    assert b.view().node(victim).removed


def test_skew_makes_a_node_tick_faster():
    b = SimBackend(3, seed=1)
    b.execute(o.SkewClock(3, 400))
    b.execute(o.Tick(20))
    assert b.view().leader().id == 3


def test_keyspace_requests_watches_and_history():
    b = elected()
    watch = b.client("watch k --prefix")
    assert watch.status == "done"
    b.client("put k1 one")
    settle(b)
    b.client("put k1 two")
    settle(b)
    b.client("del k1")
    settle(b)
    v = b.view()
    put = next(r for r in v.requests if r.line == "put k1 one")
    assert put.status == "done" and put.revision == 2 and put.index
    assert {t.node for t in put.applied} == {1, 2, 3}
    assert put.watch_events == ("watch 1 on node %d: PUT k1" % watch.node,)
    assert [e.event for e in v.watches[0].events] == ["PUT", "PUT", "DELETE"]
    history = b.key_history("k1")
    assert [h.event for h in history] == ["delete", "put", "put"]


def test_serializable_read_answers_at_once():
    b = elected()
    b.client("put a 1")
    settle(b)
    result = b.client("get a --consistency=s", node=1)
    assert result.status == "done" and result.answer == "a\n1" and result.node == 1


def test_compact_and_compacted_reads():
    b = elected()
    for value in "123":
        b.client(f"put a {value}")
        settle(b)
    b.execute(o.Compact())
    settle(b)
    assert b.view().compact_revision == 4
    b.client("get a --rev=2")
    settle(b)
    assert "compacted" in b.view().requests[-1].answer


def test_lease_expires_through_the_log():
    b = elected()
    b.client("lease grant 2")
    settle(b)
    lease = b.view().leases[0]
    b.client(f"put temp x --lease={lease.hex_id}")
    settle(b)
    assert b.view().leases[0].keys == ("temp",)
    b.execute(o.Tick(40))
    assert b.view().leases == () and b.view().keyspace == ()
    assert any("(expired)" in r.line for r in b.view().requests)


def test_client_errors_are_refusals_or_failed_requests():
    b = elected()
    with pytest.raises(CommandRefused, match="unknown command"):
        b.client("frobnicate")
    result = b.client("lease revoke abc")
    settle(b)
    assert "requested lease not found" in b.view().request(result.request_id).answer


def test_snapshot_compacts_the_log():
    b = elected()
    for value in range(8):
        b.client(f"put k {value}")
        settle(b, 2)
    note = b.execute(o.Snapshot(1))
    assert "saved a snapshot" in note
    assert b.view().log(1).snapshot_index > 0


def test_scenario_round_trip_and_open_at_event(tmp_path):
    b = SimBackend(3, seed=9)
    for cmd in SESSION + [o.Crash(2, CrashMode.WIPE), o.SkewClock(1, 150),
                          o.SetNetwork(1, 9, 0.1, 0.05, False), o.SetDisk(3)]:
        b.execute(cmd)
    path = tmp_path / "session.txt"
    b.save(path)
    again = SimBackend.load(path)
    assert again.view() == b.view()
    middle = SimBackend.load(path, at=4)
    assert middle.view().event == 4 and middle.view().last_event == len(b.commands)


def test_every_command_line_parses_back():
    for cmd in SESSION + [o.Deliver(3), o.Drop(4), o.DeliverAll(), o.Crash(1, CrashMode.WIPE),
                          o.Restart(1), o.PauseNode(2), o.PauseNode(2, False),
                          o.Campaign(3), o.TransferLeader(2), o.AddLearner(4), o.Promote(4),
                          o.RemoveMember(4), o.Snapshot(1), o.Compact(3), o.Defrag(2),
                          o.Client("put 'a b' c", 2), o.SetNetwork(2, 40, 0.5, 0, True)]:
        assert parse_command(command_line(cmd)) == cmd


def test_bad_scenario_lines_name_their_line():
    with pytest.raises(ScriptError, match="line 3"):
        load("seed 1\nnodes 3\nfly away\n")
    assert load(dump(SimBackend(5, 4).scenario())).nodes == 5


def test_long_sessions_keep_few_checkpoints_and_still_go_back_exactly():
    b = SimBackend(3, seed=2)
    views = {}
    for n in range(1, 1201):
        b.execute(o.Tick())
        if n in (100, 700, 1190):
            views[n] = b.view()
    assert len(b.checkpoints) < 60
    for n, expected in views.items():
        b.execute(o.GoTo(n))
        assert b.view().nodes == expected.nodes and b.view().time == expected.time


def test_storage_quota_refuses_growth_until_space_is_freed_and_the_alarm_disarmed(tmp_path):
    b = SimBackend(3, seed=4, quota_bytes=1000)
    b.execute(o.Tick(40))
    answers = []
    for n in range(14):
        answers.append(b.client(f"put report draft-{n}").answer)
        settle(b, 2)
    assert "Error: etcdserver: mvcc: database space exceeded" in answers
    assert b.client("get report --consistency=s").answer.startswith("report\n")
    b.execute(o.Compact())
    settle(b)
    for node in (1, 2, 3):
        b.execute(o.Defrag(node))
    b.client("alarm disarm")
    settle(b)
    put = b.client("put another key")
    settle(b)
    assert b.view().request(put.request_id).answer == "OK"
    b.save(tmp_path / "q.scenario")
    assert SimBackend.load(tmp_path / "q.scenario").view() == b.view()
