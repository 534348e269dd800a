"""LiveBackend on real member processes on loopback: views, client requests, faults, attach
(to raftviz members and to a real etcd 3.4), and the Textual app driven by Pilot on it.
Its keyspace mirror and key histories are in test_live_keyspace.

One 3-member cluster serves the module (conftest); every test leaves it healed with a
leader. All waits are conditions with deadlines."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time

import grpc
import pytest

from engine import observe as o
from engine.observe import Cap, CommandRefused, CrashMode, MessageStatus
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from raftviz.cmd_up import free_ports
from raftviz.live import CONTROL_CAPS, ETCD_CAPS, LiveBackend, LiveError
from raftviz.live_app import run_attach, run_live

from .live_helpers import answered, real_etcd, send, stable_leader, wait


# --- views ------------------------------------------------------------------------------


def test_fresh_cluster_shows_one_leader_and_its_followers(healed):
    view = stable_leader(healed)
    assert [n.id for n in view.nodes] == [1, 2, 3]
    assert all(n.up and n.voter for n in view.nodes)
    assert view.clock == "live" and view.time > 0
    leader = view.leader()
    assert {p.peer for p in leader.progress} == {1, 2, 3}
    assert all(lg.entries and lg.last_index >= lg.commit for lg in view.logs)
    assert healed.capabilities == CONTROL_CAPS
    assert not {Cap.HISTORY, Cap.SKEW, Cap.DISK, Cap.MANUAL_CLOCK} & healed.capabilities
    # where etcdctl reaches each member, as `raftviz up` would print it
    assert [n.client_url for n in view.nodes] == healed.cluster.client_urls()
    # Time 0 is when the cluster started: no message the members sent came before it.
    view = wait(healed, lambda v: v.history, "the members' first messages")
    assert 0 <= min(m.sent_at for m in view.history) <= view.time


def test_put_and_get_show_in_traces_keyspace_and_history(healed):
    put = send(healed, "put greeting hello")
    assert (put.status, put.answer, put.path) == ("done", "OK", "log")
    assert put.revision > 1
    # The keys come from the keyspace mirror's watch, the revision from the member's next
    # report (up to 50 ms later): wait for both.
    view = wait(healed, lambda v: any(k.key == "greeting" for k in v.keyspace) and
                v.revision >= put.revision, "the key and its revision in the keyspace view")
    key = next(k for k in view.keyspace if k.key == "greeting")
    assert (key.value, key.mod_revision) == ("hello", put.revision)
    assert view.keyspace_node

    got = send(healed, "get greeting")
    assert (got.answer, got.path) == ("greeting\nhello", "read-index")
    assert send(healed, "get greeting --consistency=s").path == "local"

    again = send(healed, "put greeting again")
    deadline = time.monotonic() + 10
    while [c.value for c in healed.key_history("greeting")][:2] != ["again", "hello"]:
        assert time.monotonic() < deadline, healed.key_history("greeting")
        wait(healed, lambda v: True, "any view", 1)
    assert healed.key_history("greeting")[0].revision == again.revision


def test_client_errors_and_endpoints(healed):
    with pytest.raises(CommandRefused):
        healed.client("frobnicate x")
    with pytest.raises(CommandRefused):
        healed.client("@9 get greeting")
    at_two = healed.client("@2 put where two")
    assert at_two.node == 2
    assert answered(healed, at_two.request_id).status == "done"
    bad = send(healed, "txn value(where) = \"two\" then put where three else put where four")
    assert bad.answer.startswith("SUCCESS")


def test_watch_sees_puts_and_leases_show(healed):
    opened = send(healed, "watch watched/ --prefix")
    assert opened.answer.startswith("watch ")
    put = send(healed, "put watched/a 1")
    view = wait(healed, lambda v: v.watches and v.watches[-1].total_events,
                "the watch's event")
    event = view.watches[-1].events[-1]
    assert (event.key, event.event, event.request_id) == ("watched/a", "PUT", put.id)
    granted = send(healed, "lease grant 60")
    lease_hex = granted.answer.split()[1]
    send(healed, f"put leased v --lease={lease_hex}")
    view = wait(healed, lambda v: any("leased" in lease.keys for lease in v.leases),
                "the lease with its key")
    lease = next(x for x in view.leases if x.hex_id == lease_hex)
    assert lease.ttl == 60 and 0 < lease.remaining <= 60
    watch_id = view.watches[-1].id
    assert send(healed, f"unwatch {watch_id}").status == "done"
    wait(healed, lambda v: v.watches[-1].canceled, "the watch canceled")


def test_a_put_through_a_follower_is_followed_into_every_log(healed):
    view = stable_leader(healed)
    leader = view.leader()
    follower = next(n.id for n in view.nodes if not n.is_leader)
    watch = send(healed, "watch followed/ --prefix")
    rid = healed.client("put followed/k v", follower).request_id

    def followed(v: o.ClusterView) -> bool:
        r = v.request(rid)
        return bool(r and r.status == "done" and r.watch_events and all(
            r.when(stage, n.id) is not None for n in v.nodes
            for stage in ("appended", "committed", "applied")))
    view = wait(healed, followed, f"{rid} appended, committed and applied on every node")
    r = view.request(rid)
    assert (r.node, r.path, r.answer) == (follower, "log", "OK")
    assert r.index > 0 and r.term == leader.term and r.revision > 1
    for node in (n.id for n in view.nodes):
        times = [r.when(stage, node) for stage in ("appended", "committed", "applied")]
        assert r.proposed_at <= times[0] <= times[1] <= times[2], (node, times)
        entry = next(e for e in view.log(node).entries if e.index == r.index)
        assert (entry.term, entry.request_id, entry.text) == (r.term, rid, "put followed/k=v")
    watch_id = watch.answer.split()[1]
    assert r.watch_events == (f"watch {watch_id} on node {watch.node}: PUT followed/k",)
    send(healed, f"unwatch {watch_id}")
    wait(healed, lambda v: ("followed/k", r.revision) in {
        (k.key, k.mod_revision) for k in v.keyspace}, "the key at the put's revision")


def put_from_outside(backend: LiveBackend, key: bytes) -> int:
    """A put as etcdctl sends it, without the interface; the revision it produced."""
    with grpc.insecure_channel(backend.cluster.client_urls()[0].split("://")[1]) as channel:
        return rpc_pb2_grpc.KVStub(channel).Put(
            rpc_pb2.PutRequest(key=key, value=b"v"), timeout=10).header.revision


def test_a_put_another_client_sent_is_followed_from_its_entry(healed):
    """etcdctl's writes carry no trace of ours: picking their entry in a log follows them
    from what the members report, down to the revision and this window's watch events."""
    watch = send(healed, "watch outside/ --prefix")
    revision = put_from_outside(healed, b"outside/k")

    def entry_of(v: o.ClusterView):
        return next((e for lg in v.logs for e in lg.entries
                     if e.text == "put outside/k=v" and e.revision), None)

    def followed(v: o.ClusterView) -> bool:
        entry = entry_of(v)
        trace = entry and v.logged(entry.request_id)
        return bool(trace and trace.watch_events and all(
            trace.when("applied", n.id) is not None for n in v.nodes))
    view = wait(healed, followed, "the outside put applied everywhere and watched")
    entry = entry_of(view)
    assert entry.request_id and view.request(entry.request_id) is None   # not one of ours
    trace = view.logged(entry.request_id)
    assert (trace.path, trace.status, trace.line) == ("logged", "done", "put outside/k=v")
    assert (trace.index, trace.term, trace.revision) == (entry.index, entry.term, revision)
    watch_id = watch.answer.split()[1]
    assert trace.watch_events == (f"watch {watch_id} on node {watch.node}: PUT outside/k",)
    send(healed, f"unwatch {watch_id}")


def test_a_watch_etcdctl_opened_shows_where_it_stands(healed):
    """An etcdctl watch in another terminal is one of the cluster's watchers too: its
    member reports it with the revision it has been sent up to, apart from the watches
    the interface opens for itself (its keyspace mirror, key histories, its panel)."""
    etcdctl = shutil.which("etcdctl")
    if etcdctl is None:
        pytest.skip("needs etcdctl (Debian's etcd-client)")
    panel = send(healed, "watch panel/ --prefix")
    # A client's watcher is shown the events the interface's keyspace mirror saw: let it
    # settle on the leader first (it reads again when it moves, and misses what came
    # before its read).
    mirror = healed.keyspace.mirror
    wait(healed, lambda v: mirror.active and mirror.source[0] == v.leader().id,
         "the keyspace mirror on the leader")
    url = healed.cluster.client_urls()[1]
    node = next(n.id for n in healed.view().nodes if n.client_url == url)
    proc = subprocess.Popen([etcdctl, "--endpoints", url, "watch", "seen/", "--prefix"],
                            stdout=subprocess.PIPE, env={**os.environ, "ETCDCTL_API": "3"})
    try:
        view = wait(healed, lambda v: any(w.client for w in v.watches), "etcdctl's watcher")
        (w,) = [w for w in view.watches if w.client]
        assert (w.node, w.key, w.range_end, w.total_events) == (node, "seen/", "seen0", 0)
        assert "grpc-go" in w.client and w.position == w.start_revision - 1
        put = send(healed, "put seen/k v")
        send(healed, "put unseen v")
        # Its position comes from its member, its events from the interface's mirror.
        view = wait(healed, lambda v: any(w.client and w.position > put.revision and w.events
                                          for w in v.watches), "the watcher moved on")
        (w,) = [w for w in view.watches if w.client]
        assert w.total_events == 1
        assert proc.stdout.readline() == b"PUT\n"      # and etcdctl did get it
        # The put, followed, ends at the event etcdctl's watcher was sent.
        assert [(e.revision, e.event, e.key) for e in w.events] == [
            (put.revision, "PUT", "seen/k")]
        saw = f"{w.client}: watch {w.id} on node {node}: PUT seen/k"
        assert view.request(put.id).watch_events == (saw,)
    finally:
        proc.terminate()
        proc.wait(10)
    wait(healed, lambda v: not any(w.client for w in v.watches), "etcdctl's watcher gone")
    send(healed, f"unwatch {panel.answer.split()[1]}")


# --- faults -----------------------------------------------------------------------------


def test_partitioned_leader_is_replaced_at_a_higher_term(healed):
    before = stable_leader(healed).leader()
    others = [n for n in (1, 2, 3) if n != before.id]
    note = healed.execute(o.Partition.groups([before.id], others))
    assert "Cut" in note
    view = wait(healed, lambda v: v.network.cuts == o.Partition.groups(
        [before.id], others).links, "the cuts in the network view")
    view = wait(healed, lambda v: any(
        n.is_leader and n.id in others and n.term > before.term for n in v.nodes),
        "a new leader among the majority")
    wait(healed, lambda v: any(
        m.status is MessageStatus.DROPPED and m.frm == before.id and
        m.note == f"link {before.id}→{m.to} is cut" for m in v.history),
        "the cut node's messages lost at its gate, in its traffic")
    assert healed.execute(o.Heal()).startswith("Network healed")
    # Each member's next Observe snapshot shows its links whole again.
    wait(healed, lambda v: v.network.cuts == (), "no cuts in the network view")
    view = stable_leader(healed)
    assert view.leader().term > before.term


def test_the_nodes_traffic_shows_as_they_send_it(healed):
    """Every member reports what it sent: the leader's heartbeats to each follower, the
    append that carried a put's entry, linked to the request, and the followers' answers."""
    leader = stable_leader(healed).leader()
    rid = healed.client("put traffic/k v").request_id

    def append_of(v: o.ClusterView) -> o.MessageView | None:
        return next((m for m in v.history if m.type == "MsgApp" and rid in m.request_ids),
                    None)

    def acknowledged(v: o.ClusterView) -> bool:
        append = append_of(v)
        return append is not None and any(
            m.type == "MsgAppResp" and m.to == leader.id and m.index > append.index
            for m in v.history)
    view = wait(healed, acknowledged, "the put's append and the followers' answers")
    append = append_of(view)
    assert append.frm == leader.id and append.entry_count >= 1
    assert view.request(rid).proposed_at - 100 <= append.sent_at <= view.time
    beats = [m for m in view.history if m.type == "MsgHeartbeat" and m.term == leader.term
             and m.status is MessageStatus.SENT]
    assert {m.to for m in beats} == {1, 2, 3} - {leader.id}
    assert all(m.frm == leader.id and m.id < 0 for m in beats)


def test_hold_then_deliver_one_message(healed):
    healed.execute(o.Hold(True))
    view = wait(healed, lambda v: v.network.hold and v.messages, "a held message")
    message = view.messages[0]
    assert message.status is MessageStatus.HELD and message.frm and message.to
    assert healed.execute(o.Deliver(message.id)).startswith(f"Delivered #{message.id}")
    after = healed.view()
    assert after.message(message.id) is None
    delivered = [m for m in after.history if m.id == message.id]
    assert [m.status for m in delivered] == [MessageStatus.DELIVERED]
    with pytest.raises(CommandRefused):
        healed.execute(o.Deliver(message.id))
    healed.execute(o.Hold(False))
    wait(healed, lambda v: not v.network.hold and not v.messages, "hold off, nothing held")


def test_crashed_follower_restarts_and_catches_up(healed):
    view = stable_leader(healed)
    follower = next(n.id for n in view.nodes if not n.is_leader)
    assert "kill -9" in healed.execute(o.Crash(follower, CrashMode.KEEP_DISK))
    wait(healed, lambda v: not v.node(follower).up, "the follower down")
    for i in range(5):
        assert send(healed, f"put while-down/{i} v").status == "done"
    written = healed.view().revision
    healed.execute(o.Restart(follower))
    wait(healed, lambda v: v.node(follower).up and v.node(follower).revision >= written,
         "the follower back and caught up", timeout=30)


def test_alarm_list_and_disarm_as_etcdctl_prints_them(healed):
    assert (send(healed, "alarm list").answer, send(healed, "alarm list").path) == \
        ("(no alarms)", "log")
    member = healed.view().nodes[0].id
    raised = f"memberID:{member} alarm:NOSPACE"
    channels = [grpc.insecure_channel(url.split("://")[1])
                for url in healed.cluster.client_urls()]
    maintenance = [rpc_pb2_grpc.MaintenanceStub(channel) for channel in channels]
    try:
        maintenance[0].Alarm(rpc_pb2.AlarmRequest(      # as a member over quota would
            action=rpc_pb2.AlarmRequest.ACTIVATE, memberID=member, alarm=rpc_pb2.NOSPACE),
            timeout=10)
        # A list is an entry, as in etcd 3.4: every member, asked at once, has applied
        # the alarm by the time it answers.
        for node in healed.view().nodes:
            assert send(healed, "alarm list", node.id).answer == raised, node.id
        before = maintenance[1].Status(rpc_pb2.StatusRequest(), timeout=10).raftIndex
        maintenance[1].Alarm(rpc_pb2.AlarmRequest(action=rpc_pb2.AlarmRequest.GET),
                             timeout=10)
        assert maintenance[1].Status(rpc_pb2.StatusRequest(), timeout=10).raftIndex > before
        refused = send(healed, "put over quota")
        assert (refused.status, refused.answer) == \
            ("failed", "Error: etcdserver: mvcc: database space exceeded")
        assert send(healed, "alarm disarm").answer == raised
        assert send(healed, "alarm list").answer == "(no alarms)"
        assert send(healed, "put under quota").status == "done"
    finally:        # a raised alarm would refuse the writes of every test after this one
        maintenance[0].Alarm(rpc_pb2.AlarmRequest(
            action=rpc_pb2.AlarmRequest.DEACTIVATE, memberID=member, alarm=rpc_pb2.NOSPACE),
            timeout=10)
        for channel in channels:
            channel.close()


def test_refusals_say_why(healed):
    node = healed.view().nodes[0].id
    with pytest.raises(CommandRefused, match="fsyncs"):
        healed.execute(o.Crash(node, CrashMode.LOSE_UNSYNCED))
    with pytest.raises(CommandRefused, match="tear a write"):
        healed.execute(o.Crash(node, CrashMode.TORN))
    with pytest.raises(CommandRefused, match="duplicate"):
        healed.execute(o.SetNetwork(5, 5, 0.0, 0.5, False))
    with pytest.raises(CommandRefused, match="freeze the world"):
        healed.execute(o.Tick())
    with pytest.raises(CommandRefused, match="simulator"):
        healed.execute(o.Undo())
    with pytest.raises(CommandRefused, match="already running"):
        healed.execute(o.Restart(node))


def test_frozen_world_moves_only_when_told(healed):
    healed.execute(o.PauseWorld(True))
    assert Cap.MANUAL_CLOCK in healed.capabilities
    wait(healed, lambda v: v.paused and v.network.hold and all(n.paused for n in v.nodes),
         "every member paused")
    assert "tick" in healed.execute(o.Tick(2))
    view = wait(healed, lambda v: v.messages, "messages held after ticking")
    stepped = healed.execute(o.Step())
    assert stepped.startswith("Delivered") or "tick" in stepped
    assert view.messages[0].id not in {m.id for m in healed.view().messages}
    healed.execute(o.PauseWorld(False))
    assert Cap.MANUAL_CLOCK not in healed.capabilities
    wait(healed, lambda v: not v.paused and not v.network.hold and not any(
        n.paused for n in v.nodes), "the world running again")


# --- attach -----------------------------------------------------------------------------


def test_attach_to_raftviz_members_has_full_control(healed):
    urls = healed.cluster.client_urls()
    attached = LiveBackend.attach(",".join(u.split("://")[1] for u in urls))
    try:
        assert attached.control and attached.capabilities == CONTROL_CAPS
        view = stable_leader(attached)
        assert len(view.nodes) == 3
        hosts = ",".join(u.split("://")[1] for u in urls)
        assert f"Try etcdctl --endpoints={hosts} put greeting hello" in view.note
        put = send(attached, "put attached yes")
        wait(healed, lambda v: any(k.key == "attached" for k in v.keyspace),
             "the attached backend's write seen by the owner")
        assert put.status == "done"
        with pytest.raises(CommandRefused, match="outside this window"):
            attached.execute(o.Restart(1))
    finally:
        attached.close()
    assert all(n.up for n in stable_leader(healed).nodes)    # closing did not stop them


def test_attach_to_nothing_is_one_clear_line(capsys):
    port = free_ports(1)[0]
    with pytest.raises(LiveError, match="no endpoint answers"):
        LiveBackend.attach(f"127.0.0.1:{port}")
    assert run_attach(f"127.0.0.1:{port}") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("raftviz attach: no endpoint answers") and "\n" not in err


def test_run_live_refuses_a_bad_size_in_one_line(capsys):
    assert run_live(nodes=9) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "raftviz: a live cluster has 1 to 7 members"


def test_close_stops_processes_and_removes_the_temporary_dir():
    backend = LiveBackend.start(1, heartbeat_ms=50, election_ms=500)
    procs = list(backend.cluster.procs.values())
    data_dir = backend.cluster.data_dir
    stable_leader(backend)
    backend.close()
    assert all(p.poll() is not None for p in procs)
    assert not os.path.exists(data_dir)
    assert not any(t.is_alive() for t in backend.observers)


def test_learner_joins_is_promoted_and_removed():
    backend = LiveBackend.start(1, heartbeat_ms=50, election_ms=500)
    try:
        stable_leader(backend)
        send(backend, "put before-join v")
        assert "learner" in backend.execute(o.AddLearner())
        # etcd promotes only a learner the leader sees in sync: wait for its progress too
        view = wait(backend, lambda v: len(v.nodes) == 2 and v.nodes[1].up and
                    v.nodes[1].learner and v.nodes[1].revision == v.nodes[0].revision and
                    any(p.peer == 2 and p.match >= v.nodes[0].commit
                        for p in v.nodes[0].progress),
                    "the learner running and caught up", timeout=30)
        assert not view.nodes[1].voter
        backend.execute(o.Promote(2))
        wait(backend, lambda v: v.nodes[1].voter and not v.nodes[1].learner, "a voter")
        backend.execute(o.RemoveMember(2))
        wait(backend, lambda v: v.nodes[1].removed and not v.nodes[1].up, "node 2 removed")
        wait(backend, lambda v: not backend.cluster.running(2), "its process stopped")
        assert send(backend, "put after-remove v").status == "done"
    finally:
        backend.close()


def test_attach_to_real_etcd_is_read_only():
    with real_etcd(3) as cluster:
        backend = LiveBackend.attach(cluster.endpoints)
        try:
            assert not backend.control and backend.capabilities == ETCD_CAPS
            view = wait(backend, lambda v: v.leader() is not None and len(v.nodes) == 3
                        and all(n.up for n in v.nodes), "three members and a leader")
            assert view.note.startswith("Attached to etcd") and "freeze" not in view.note
            assert sorted(n.client_url for n in view.nodes) == sorted(cluster.endpoints)
            assert all(n.term >= 2 and n.commit > 0 and n.applied > 0 for n in view.nodes)
            assert not any(lg.entries for lg in view.logs)
            put = send(backend, "put from-raftviz yes")
            assert put.status == "done" and put.revision > 1
            wait(backend, lambda v: ("from-raftviz", "yes") in {
                (k.key, k.value) for k in v.keyspace}, "the key in etcd's keyspace")
            with pytest.raises(CommandRefused, match="control service"):
                backend.execute(o.Crash(1))
            with pytest.raises(CommandRefused, match="control service"):
                backend.execute(o.Partition.groups([1], [2, 3]))
        finally:
            backend.close()


# --- the app ----------------------------------------------------------------------------


def test_app_on_a_live_cluster_shows_a_new_term_after_partitioning_the_leader(healed):
    from raftviz.ui.app import RaftvizApp
    from raftviz.ui.screens.dialogs import PartitionDialog
    from raftviz.ui.widgets.nodes import NodeCard

    app = RaftvizApp(healed)

    def cards() -> dict[int, tuple[str, str]]:
        return {c.node_id: (str(c.border_title), c.card_text().plain)
                for c in app.query(NodeCard)}

    async def until(pilot, ready, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert time.monotonic() < deadline, f"{what} not on screen: {cards()}"
            await pilot.pause(0.05)

    async def scenario() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: any("leader" in t for t, _ in cards().values()),
                        "a leader")
            assert {node: f"client {healed.member(node).url}" in body
                    for node, (_, body) in cards().items()} == {1: True, 2: True, 3: True}
            leader = healed.view().leader()
            await pilot.press("p")
            assert isinstance(app.screen, PartitionDialog)
            await pilot.press(str(leader.id), "enter")
            await until(pilot, lambda: any(
                "leader" in title and node != leader.id and
                any(f"term {t}" in body for t in range(leader.term + 1, leader.term + 20))
                for node, (title, body) in cards().items()), "a new leader at a higher term")
            await pilot.press("H")
            await until(pilot, lambda: healed.view().network.cuts == (), "healed network")

    asyncio.run(scenario())


def test_app_follows_a_put_another_client_sent_when_its_entry_is_picked(healed):
    from raftviz.ui.app import RaftvizApp
    from raftviz.ui.widgets.bars import NoteBar
    from raftviz.ui.widgets.requests import followed_trace

    app = RaftvizApp(healed)

    async def scenario() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            revision = put_from_outside(healed, b"picked/k")
            deadline = time.monotonic() + 20
            while not any(e.text == "put picked/k=v" and e.revision
                          for lg in app.session.view().logs for e in lg.entries):
                assert time.monotonic() < deadline, "the outside put not in the logs"
                await pilot.pause(0.05)
            await pilot.press("1", "end", "right", "enter")     # the last entry, node 1
            await pilot.pause()
            trace = followed_trace(app.session.view(), app.session.followed)
            assert (trace.path, trace.line, trace.revision) == (
                "logged", "put picked/k=v", revision)
            note = app.query_one(NoteBar).message
            assert note.startswith(f"Following entry {trace.index} (put picked/k=v)"), note

    asyncio.run(scenario())
