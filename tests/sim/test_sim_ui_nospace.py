"""The UI simulator's storage quota and NOSPACE alarm, as etcd 3.4 has them: a write that
does not fit is refused and raises the alarm through the log; under the alarm only what
cannot grow the database passes; compaction and a defrag free the file, and `alarm
disarm` (unconditional) lets writes through again."""

from __future__ import annotations

import pytest

from engine import observe as o
from engine.observe import AlarmView, CommandRefused
from engine.sim.backend import SimBackend

NO_SPACE = "Error: etcdserver: mvcc: database space exceeded"


def ask(b: SimBackend, line: str, node: int = 0, ticks: int = 3) -> o.RequestTrace:
    result = b.client(line, node)
    b.execute(o.Tick(ticks))
    trace = b.view().request(result.request_id)
    assert trace is not None
    return trace


def full(seed: int = 4) -> SimBackend:
    """A cluster (leader 1) whose 1000-byte quota has just refused `put report ...`."""
    b = SimBackend(3, seed=seed, quota_bytes=1000)
    b.execute(o.Tick(40))
    for n in range(20):
        if ask(b, f"put report draft-{n}").answer == NO_SPACE:
            return b
    raise AssertionError("the quota never filled")


def test_a_write_that_does_not_fit_is_refused_and_raises_nospace_through_the_log():
    b = full()
    view = b.view()
    assert view.alarms == (AlarmView(1, "NOSPACE"),)
    assert all(n.alarms == ("NOSPACE",) for n in view.nodes)
    texts = [e.text for e in view.log(2).entries]
    assert "alarm raise NOSPACE member 1" in texts
    assert ask(b, "alarm list").answer == "memberID:1 alarm:NOSPACE"


def test_under_nospace_reads_deletes_compaction_and_revokes_pass_growth_does_not():
    b = SimBackend(3, seed=4, quota_bytes=1000)
    b.execute(o.Tick(40))
    lease = ask(b, "lease grant 60").answer.split()[1]
    assert ask(b, "put victim v").answer == "OK"
    for n in range(20):
        if ask(b, f"put report draft-{n}").answer == NO_SPACE:
            break
    for line in ("put k v", "txn value(k) = \"\" then put k v", "lease grant 30"):
        assert ask(b, line).answer == NO_SPACE, line
    assert ask(b, "get victim").answer == "victim\nv"
    assert ask(b, "get victim --consistency=s", node=2).answer == "victim\nv"
    assert ask(b, "del victim").answer == "1"
    assert ask(b, "txn version(x) = 0 then del report").answer.startswith("SUCCESS")
    assert ask(b, f"lease revoke {lease}").answer == f"lease {lease} revoked"
    assert ask(b, f"compact {b.view().revision}").answer.startswith("compacted")


def test_compaction_frees_data_but_not_the_file_and_the_alarm_outlives_a_defrag():
    b = full()
    ask(b, f"compact {b.view().revision}")
    node = b.view().node(1)
    assert node.db_in_use < 200 < 900 < node.db_size
    assert ask(b, "put small x").answer == NO_SPACE       # refused at the door: the file
    for n in (1, 2, 3):
        b.execute(o.Defrag(n))
    refused = ask(b, "put small x")
    assert refused.answer == NO_SPACE and refused.index   # through the log, refused at apply
    assert b.view().alarms == (AlarmView(1, "NOSPACE"),)
    disarm = ask(b, "alarm disarm")
    assert disarm.status == "done" and disarm.answer == "memberID:1 alarm:NOSPACE"
    assert b.view().alarms == () and all(n.alarms == () for n in b.view().nodes)
    assert ask(b, "put small x").answer == "OK"
    assert ask(b, "alarm list").answer == "(no alarms)"


def test_disarm_is_unconditional_and_the_next_write_that_does_not_fit_raises_it_again():
    b = full()
    assert ask(b, "alarm disarm").answer == "memberID:1 alarm:NOSPACE"
    assert b.view().alarms == ()
    assert ask(b, "put report again").answer == NO_SPACE
    assert b.view().alarms == (AlarmView(1, "NOSPACE"),)


def test_a_member_raises_its_own_alarm_and_disarm_clears_every_one():
    b = full()
    assert ask(b, "put other " + "x" * 100, node=3).answer == NO_SPACE
    assert b.view().alarms == (AlarmView(1, "NOSPACE"), AlarmView(3, "NOSPACE"))
    disarm = ask(b, "alarm disarm", node=2)
    assert disarm.answer == "memberID:1 alarm:NOSPACE\nmemberID:3 alarm:NOSPACE"
    parts = [r for r in b.view().requests if r.line.startswith("alarm disarm NOSPACE")]
    assert [p.line for p in parts] == ["alarm disarm NOSPACE member 1",
                                       "alarm disarm NOSPACE member 3"]
    assert all(p.status == "done" and p.index for p in parts)
    assert b.view().alarms == ()


def test_writes_that_pass_the_door_together_raise_the_alarm_on_every_member_at_apply():
    b = SimBackend(3, seed=4, quota_bytes=1000)
    b.execute(o.Tick(40))
    sent = [b.client(f"put {k} {'x' * 300}") for k in "abc"]
    b.execute(o.Tick(5))
    answers = [b.view().request(s.request_id).answer for s in sent]
    assert answers == ["OK", "OK", NO_SPACE]
    assert b.view().alarms == tuple(AlarmView(n, "NOSPACE") for n in (1, 2, 3))
    assert ask(b, "alarm disarm").answer.count("alarm:NOSPACE") == 3


def test_with_nothing_raised_disarm_answers_at_once():
    b = SimBackend(3, seed=4)
    b.execute(o.Tick(40))
    result = b.client("alarm disarm")
    assert (result.status, result.answer) == ("done", "(no alarms)")
    with pytest.raises(CommandRefused, match="unknown alarm command"):
        b.client("alarm ring")


def test_a_session_with_alarms_replays_and_saves_exactly(tmp_path):
    b = full()
    ask(b, "alarm disarm")
    path = tmp_path / "nospace.scenario"
    b.save(path)
    again = SimBackend.load(path)
    assert again.view() == b.view()
    b.execute(o.Undo())
    assert b.view().alarms == (AlarmView(1, "NOSPACE"),)


def test_a_restarted_member_replaying_its_log_raises_nothing_new():
    b = SimBackend(3, seed=4, quota_bytes=1000)
    b.execute(o.Tick(40))
    for k in "abc":
        b.client(f"put {k} {'x' * 300}")
    b.execute(o.Tick(5))
    raised = [r for r in b.view().requests if r.line.startswith("alarm raise")]
    assert len(raised) == 3
    ask(b, "alarm disarm")
    b.execute(o.Crash(2))
    b.execute(o.Restart(2))
    b.execute(o.Tick(5))
    assert [r for r in b.view().requests if r.line.startswith("alarm raise")] == raised
    assert b.view().alarms == () and b.view().node(2).alarms == ()
