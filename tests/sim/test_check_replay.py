"""CheckReplay: a `raftviz check` seed opened in the UI is the very run the checker made,
event for event, and it can be walked back and forth exactly."""

from __future__ import annotations

import asyncio

import pytest

from engine import observe as o
from engine.observe import Backend, Cap, MessageStatus
from engine.raft import Message
from engine.sim.campaign import run_seed
from engine.sim.check_backend import CheckReplay, replay_params
from engine.sim.world import World

BUGGY_SEED = {3: 1, 5: 2}      # the first seeds the planted bug fails (test_sim_planted_bug)


def node_facts(view: o.ClusterView) -> list[tuple]:
    return [(n.id, n.up, n.role if n.up else "down", n.term, n.commit, n.last_index)
            for n in view.nodes]


def world_facts(world: World) -> list[tuple]:
    facts = []
    for node in world.nodes[1:]:
        r = node.rawnode.raft
        if node.up:
            facts.append((node.id, True, r.state.value, r.term, r.raft_log.committed,
                          r.raft_log.last_index()))
        else:
            hs = node.disk.hard_state
            facts.append((node.id, False, "down", hs.term, hs.commit, node.disk.last_index()))
    return facts


def stepped(seed: int, events: int, nodes: int = 3, planted_bug: bool = False) -> CheckReplay:
    replay = CheckReplay(seed, nodes, planted_bug)
    replay.execute(o.Step(events))
    return replay


def test_a_replay_is_a_backend_that_only_moves_time():
    replay = CheckReplay(4, 3)
    assert isinstance(replay, Backend)
    assert replay.capabilities == {Cap.MANUAL_CLOCK, Cap.HISTORY}
    for command in (o.Crash(1), o.Partition.one_way(1, 2), o.Campaign(2), o.Deliver(1)):
        with pytest.raises(o.CommandRefused):
            replay.execute(command)
    with pytest.raises(o.CommandRefused):
        replay.client("put a 1")
    view = replay.view()
    assert (view.event, view.time, view.keyspace, view.leases, view.watches) == (0, 0, (), (),
                                                                                 ())
    assert "Seed 4 on 3 nodes" in view.note and "no invariant breaks" in view.note


def test_the_replay_runs_exactly_as_long_as_the_check_run():
    replay = CheckReplay(4, 3)
    assert replay.last_event == run_seed(4, 3).events
    replay.execute(o.GoTo(replay.last_event))
    assert replay.world.finished()
    assert "The run ends here" in replay.view().note
    with pytest.raises(o.CommandRefused, match="run is over"):
        replay.execute(o.Step())


@pytest.mark.parametrize("seed,nodes,events", [(4, 3, 40), (4, 3, 700), (7, 5, 1500)])
def test_the_view_at_event_n_is_the_world_run_directly_for_n_events(seed, nodes, events):
    replay = stepped(seed, events, nodes)
    direct = World(replay_params(seed, nodes))
    direct.run_events(events)
    view = replay.view()
    assert (view.event, view.time) == (events, direct.now)
    assert node_facts(view) == world_facts(direct)
    lead = direct.leader()
    assert (view.leader().id if view.leader() else None) == (lead.id if lead else None)


def test_the_view_agrees_with_a_run_stopped_by_time():
    replay = stepped(4, 500)
    t = replay.view().time
    assert replay.world.queue[0][0] > t     # nothing else happens at that moment
    direct = World(replay_params(4, 3))
    direct.run(until=t)
    assert direct.events == 500
    assert node_facts(replay.view()) == world_facts(direct)


def test_tick_runs_to_the_next_tick_boundary():
    replay = CheckReplay(4, 3)
    replay.execute(o.Tick(3))
    view = replay.view()
    assert view.time <= 300 < replay.world.queue[0][0]
    assert view.event > 3


def test_go_to_undo_and_redo_are_exact():
    forward = stepped(4, 620)
    jumped = stepped(4, 1300)
    jumped.execute(o.GoTo(620))         # back past two checkpoints
    assert jumped.view() == forward.view()
    jumped.execute(o.Undo())
    assert jumped.view() == stepped(4, 619).view()
    jumped.execute(o.Redo())
    jumped.execute(o.Redo())
    assert jumped.view() == stepped(4, 621).view()
    jumped.execute(o.GoTo(0))
    assert jumped.view() == CheckReplay(4, 3).view()
    with pytest.raises(o.CommandRefused):
        jumped.execute(o.Undo())
    with pytest.raises(o.CommandRefused):
        jumped.execute(o.GoTo(jumped.last_event + 1))


def test_the_wire_shows_messages_in_flight_and_what_became_of_the_rest():
    replay = stepped(4, 700)
    while len(replay.view().messages) < 2:
        replay.execute(o.Step())
    view = replay.view()
    queued = [ev for _, _, ev in replay.world.queue if isinstance(ev, Message)]
    assert len(view.messages) == len(queued)
    assert all(m.status is MessageStatus.IN_FLIGHT and m.sent_at <= view.time <= m.deliver_at
               for m in view.messages)
    assert view.history and all(m.status in (MessageStatus.DELIVERED, MessageStatus.DROPPED)
                                for m in view.history)
    ids = [m.id for m in view.messages + view.history]
    assert len(ids) == len(set(ids))
    assert all(m.text.startswith(f"{m.frm}->{m.to} Msg") for m in view.messages)


def test_each_step_says_what_the_event_was():
    replay = CheckReplay(4, 3)
    said = [replay.execute(o.Step()) for _ in range(30)]
    assert said[0].startswith("Event 1 at t=")
    assert any("tick" in line for line in said) and any("deliver" in line for line in said)
    log = replay.view().logs[0]
    assert all(e.text for e in log.entries)


@pytest.mark.parametrize("nodes", [3, 5])
def test_the_violation_event_shows_the_broken_invariant(nodes):
    seed = BUGGY_SEED[nodes]
    checked = run_seed(seed, nodes, planted_bug=True)
    replay = CheckReplay.opened_at(seed, nodes, checked.events, planted_bug=True)
    assert replay.violation_event == checked.events == replay.view().event
    note = replay.view().note
    assert checked.violation.invariant in note and checked.violation.detail in note
    replay.execute(o.Undo())
    assert "VIOLATION" not in replay.view().note
    assert "VIOLATION" in replay.execute(o.Redo())


def test_opening_past_the_end_stops_at_the_last_event():
    replay = CheckReplay.opened_at(BUGGY_SEED[3], 3, 10**9, planted_bug=True)
    assert replay.view().event == replay.last_event


def test_the_app_steps_a_replay_until_a_leader_is_on_screen():
    from raftviz.ui.app import RaftvizApp
    from raftviz.ui.widgets.bars import NoteBar

    probe = CheckReplay(4, 3)
    while probe.view().leader() is None:
        probe.execute(o.Step())
    elected = probe.view().event
    app = RaftvizApp(CheckReplay.opened_at(4, 3, elected - 3))

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert not app.query(".node-card.-leader")
            await pilot.press("s", "s", "s")
            await pilot.pause(0.1)
            lead = app.session.backend.view().leader()
            card = app.query_one(f"#card-{lead.id}")
            assert card.has_class("-leader") and "leader" in str(card.border_title)
            assert f"Event {elected} at" in app.query_one(NoteBar).message

    asyncio.run(main())
