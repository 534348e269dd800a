"""Carrying out the interface's commands on a live cluster, each with a sentence on what it
did (or a `CommandRefused` saying why not).

Faults go to the members' control services (pause, step, hold, deliver, drop, cut, drop
rate, delay, campaign, transfer) or to their processes (kill -9, SIGSTOP, start again);
membership, compaction and defragmentation use etcd's own API, and the slow ones run in
the background so the interface never waits: their outcome becomes a later note.

While the world is frozen, Tick steps every member's clock and Step is "the next event":
it delivers the oldest held message, or ticks every clock once when none waits.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from engine import observe as o
from engine.observe import Cap, CommandRefused, CrashMode, MessageStatus
from engine.runtime.proto import rpc_pb2
from engine.sim.ui_net import describe_links

from .live_observe import Member
from .live_views import MESSAGE_ID_SPAN

if TYPE_CHECKING:
    from .live import LiveBackend

MAX_MEMBERS = 9
MEMBER_CHANGE_TIMEOUT_S = 10.0
NOT_LIVE = {
    Cap.HISTORY: "A live cluster cannot go back in time: undo, redo and go-to need the "
                 "simulator (raftviz --sim).",
    Cap.SKEW: "A live member's clock is the machine's clock; skewing it needs the "
              "simulator (raftviz --sim).",
    Cap.DISK: "A live member's disk is the real one: an fsync takes what it takes.",
    Cap.SNAPSHOT: "A live member snapshots by itself every --snapshot-count entries; "
                  "snapshots on demand need the simulator (raftviz --sim).",
    Cap.MANUAL_CLOCK: "Time runs by itself on a live cluster: freeze the world first "
                      "(ctrl+space), then tick or step.",
}
READ_ONLY = ("Attached to a cluster without raftviz's control service (a real etcd): "
             "only client requests, compaction, defragmentation, leader transfer and "
             "membership changes are available.")


def execute(b: LiveBackend, command: o.Command) -> str:
    if command.cap not in b.capabilities:
        raise CommandRefused(NOT_LIVE.get(command.cap) or READ_ONLY)
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise CommandRefused(f"A live cluster cannot do {type(command).__name__}.")
    return handler(b, command)


def _running(b: LiveBackend) -> list[Member]:
    with b._lock:
        return [m for m in b.members if b.is_up(m)]


def _on_all(b: LiveBackend, op: str, **args) -> int:
    members = _running(b)
    if not members:
        raise CommandRefused("Every node is down.")
    for member in members:
        b.command(member, op, **args)
    return len(members)


# -- time --

def _pause_world(b: LiveBackend, cmd: o.PauseWorld) -> str:
    if cmd.paused == b.world_frozen:
        raise CommandRefused("The world is already " + ("frozen." if cmd.paused else
                                                        "running."))
    # Under freeze_lock, and the flag turned off before any member resumes: a member
    # seen running while frozen is paused again (LiveBackend._freeze_late), and must
    # not be for a resume this thaw sent.
    with b.freeze_lock:
        if cmd.paused:
            b.hold_before_freeze = b.view().network.hold
            _on_all(b, "pause")
            _on_all(b, "hold", on=True)
            b.world_frozen = True
            return ("The world is frozen: every member's clock stops and each message "
                    "waits at its sender. Tick (t) moves every clock; step (s) delivers "
                    "the oldest waiting message.")
        b.world_frozen = False
        _on_all(b, "resume")
        if not b.hold_before_freeze:
            _on_all(b, "hold", on=False)
    return "The world runs again in real time" + (
        "; messages are still held (hold is on)." if b.hold_before_freeze else
        ", and the messages that waited are on their way.")


def _tick(b: LiveBackend, cmd: o.Tick) -> str:
    if not 1 <= cmd.count <= 100:
        raise CommandRefused("Tick between 1 and 100 times at once.")
    _on_all(b, "step", ticks=cmd.count)
    what = "one tick" if cmd.count == 1 else f"{cmd.count} ticks"
    return (f"Every member's clock moved {what}; timers that ran out fired (heartbeats, "
            f"elections). New messages wait at their senders.")


def _step(b: LiveBackend, cmd: o.Step) -> str:
    text = ""
    for _ in range(max(1, min(cmd.count, 100))):
        held = [m for m in b.view().messages if m.status is MessageStatus.HELD]
        text = _deliver(b, o.Deliver(held[0].id)) if held else _tick(b, o.Tick(1))
    return text


# -- messages --

def _hold(b: LiveBackend, cmd: o.Hold) -> str:
    waiting = len(b.view().messages)
    _on_all(b, "hold", on=cmd.on)
    if cmd.on:
        return ("Hold is on: every new message waits at its sender until you deliver "
                "(enter) or drop (x) it.")
    return f"Hold is off: {waiting} held messages are on their way."


def _held(b: LiveBackend, msg_id: int) -> tuple[Member, int, o.MessageView]:
    view = b.view().message(msg_id)
    number, held = divmod(msg_id, MESSAGE_ID_SPAN)
    if view is None:
        raise CommandRefused(f"Message #{msg_id} is not waiting: it was delivered or "
                             f"dropped.")
    return b.up_member(number), held, view


def _let_go(b: LiveBackend, msg_id: int, op: str, status: MessageStatus) -> o.MessageView:
    member, held, view = _held(b, msg_id)
    b.command(member, op, id=held)
    with b._lock:
        b.gone.add(msg_id)
        done = replace(view, status=status, delivered_at=b.clock(),
                       note="dropped by you" if op == "drop" else "")
        b.history.append(done)
    b.changed()
    return view


def _deliver(b: LiveBackend, cmd: o.Deliver) -> str:
    m = _let_go(b, cmd.msg_id, "deliver", MessageStatus.DELIVERED)
    return f"Delivered #{m.id} {m.type} {m.frm}→{m.to}."


def _deliver_all(b: LiveBackend, cmd: o.DeliverAll) -> str:
    held = [m.id for m in b.view().messages if m.status is MessageStatus.HELD]
    if not held:
        raise CommandRefused("No held message can be delivered now.")
    for msg_id in held:
        _let_go(b, msg_id, "deliver", MessageStatus.DELIVERED)
    return f"Delivered {len(held)} held messages, oldest first."


def _drop(b: LiveBackend, cmd: o.Drop) -> str:
    m = _let_go(b, cmd.msg_id, "drop", MessageStatus.DROPPED)
    return f"Dropped #{m.id} {m.type} {m.frm}→{m.to}: it never arrives."


# -- the network --

def _set_cuts(b: LiveBackend, cuts: set[tuple[int, int]]) -> None:
    """Each member's gate gets the peers it may no longer send to."""
    senders = {a for a, _ in cuts} | {a for a, _ in b.view().network.cuts}
    for number in sorted(senders):
        member = b.member(number)
        if not b.is_up(member):
            raise CommandRefused(f"Node {number} is down: its side of a cut lives in its "
                                 f"process, so restart it first.")
        peers = [b.member(to).raft_id for frm, to in sorted(cuts) if frm == number]
        if 0 in peers:
            raise CommandRefused("A node in that cut has never answered, so its Raft id "
                                 "is unknown.")
        b.command(member, "cut", peers=peers)


def _partition(b: LiveBackend, cmd: o.Partition) -> str:
    if not cmd.links:
        raise CommandRefused("Choose at least one link to cut.")
    for a, c in cmd.links:
        b.member(a), b.member(c)
        if a == c:
            raise CommandRefused("A node cannot be cut off from itself.")
    _set_cuts(b, set(b.view().network.cuts) | set(cmd.links))
    return (f"Cut {describe_links(cmd.links)}: each sender's gate now drops what it sends "
            f"across these links.")


def _heal(b: LiveBackend, cmd: o.Heal) -> str:
    if not b.view().network.cuts:
        raise CommandRefused("No link is cut.")
    _set_cuts(b, set())
    return "Network healed: every link carries messages again (lost ones stay lost)."


def _set_network(b: LiveBackend, cmd: o.SetNetwork) -> str:
    if cmd.duplicate_rate:
        raise CommandRefused("A live link cannot duplicate messages: the TCP stream "
                             "delivers each one once. Set duplicate to 0.")
    if cmd.reorder:
        raise CommandRefused("A live link is a TCP stream: messages on it cannot overtake "
                             "each other. Set reorder to 0.")
    if not 0 <= cmd.min_delay <= cmd.max_delay <= 10_000 or not 0 <= cmd.drop_rate < 1:
        raise CommandRefused("Delays must satisfy 0 ≤ min ≤ max ≤ 10000 ms, and the drop "
                             "rate is a fraction below 1.")
    delay = (cmd.min_delay + cmd.max_delay) // 2
    _on_all(b, "drop_rate", rate=cmd.drop_rate)
    _on_all(b, "delay", seconds=delay / 1000)
    fixed = "" if cmd.min_delay == cmd.max_delay else \
        f" (a live gate adds one fixed delay: the middle of {cmd.min_delay}–{cmd.max_delay})"
    return (f"Network: every message waits {delay} ms at its sender{fixed}, and "
            f"{cmd.drop_rate:.0%} are lost.")


# -- nodes --

def _crash(b: LiveBackend, cmd: o.Crash) -> str:
    member = b.up_member(cmd.node)
    if cmd.mode is CrashMode.LOSE_UNSYNCED:
        raise CommandRefused("A live member fsyncs before it acknowledges or sends "
                             "anything, so a power loss costs nothing it promised: choose "
                             "keep-disk (a process crash) or wipe.")
    if cmd.mode is CrashMode.TORN:
        raise CommandRefused("A live member cannot be made to tear a write on demand: "
                             "the simulator shows a torn WAL record (raftviz --sim).")
    owned = b.cluster is not None and b.cluster.owns(cmd.node)
    if cmd.mode is CrashMode.WIPE and not owned:
        raise CommandRefused("Only members this window started can be wiped: their data "
                             "dirs are ours to delete.")
    if owned:
        b.cluster.kill(cmd.node)
    else:
        b.command(member, "crash")
    member.answering, member.stopped = False, False
    if cmd.mode is CrashMode.WIPE:
        b.cluster.wipe(cmd.node)
        return (f"Node {cmd.node} was killed and its data dir deleted. Restarted, it boots "
                f"blank, having forgotten its term, vote and log: it could vote twice in "
                f"one term, which Raft's safety rules out. Safe way back: remove it, then "
                f"add a new member.")
    return (f"Node {cmd.node} crashed (kill -9): its disk keeps everything it synced; its "
            f"role, inbox and unapplied state are gone. Restart (r) boots it from that disk.")


def _restart(b: LiveBackend, cmd: o.Restart) -> str:
    member = b.member(cmd.node)
    if member.removed:
        raise CommandRefused(f"Node {cmd.node} was removed from the cluster.")
    if b.cluster is None or not b.cluster.owns(cmd.node):
        raise CommandRefused(f"Node {cmd.node} was started outside this window: start it "
                             f"again yourself (raftviz up with its --data-dir recovers it).")
    if b.cluster.running(cmd.node):
        raise CommandRefused(f"Node {cmd.node} is already running.")
    blank = not os.path.isdir(b.cluster.member_dir(cmd.node))
    b.cluster.restart(cmd.node)
    if blank:
        return (f"Node {cmd.node} starts again from a blank data dir: no term, no vote, "
                f"no log.")
    return (f"Node {cmd.node} starts again with the same flags, from what its disk holds; "
            f"it catches up from the leader.")


def _pause_node(b: LiveBackend, cmd: o.PauseNode) -> str:
    member = b.up_member(cmd.node)
    if cmd.paused == member.stopped:
        raise CommandRefused(f"Node {cmd.node} is already "
                             f"{'frozen' if cmd.paused else 'running'}.")
    _signal(b, member, signal.SIGSTOP if cmd.paused else signal.SIGCONT)
    member.stopped = cmd.paused
    if cmd.paused:
        return (f"Node {cmd.node} is frozen (SIGSTOP): it neither ticks nor reads; what "
                f"its peers send waits in its socket buffers.")
    return (f"Node {cmd.node} thawed (SIGCONT): it reads what waited for it and its timers "
            f"catch up.")


def _signal(b: LiveBackend, member: Member, sig: int) -> None:
    if b.cluster is not None and b.cluster.owns(member.number):
        (b.cluster.freeze if sig == signal.SIGSTOP else b.cluster.thaw)(member.number)
        return
    host = member.url.split("://", 1)[-1].split(":")[0]
    pid = int(member.snapshot.get("pid", 0))
    if host not in ("127.0.0.1", "localhost", "[::1]") or not pid:
        raise CommandRefused(f"Node {member.number} runs on another machine: only a local "
                             f"process can be frozen.")
    try:
        os.kill(pid, sig)
    except OSError as exc:
        raise CommandRefused(f"Node {member.number} (pid {pid}): {exc.strerror}.") from None


def _campaign(b: LiveBackend, cmd: o.Campaign) -> str:
    member = b.up_member(cmd.node)
    if member.raft_id not in member.snapshot.get("voters", ()):
        raise CommandRefused(f"Node {cmd.node} is not a voter and cannot campaign.")
    b.command(member, "campaign")
    return (f"Node {cmd.node} campaigns now, asking for pre-votes first; voters that still "
            f"hear from a leader refuse.")


def _transfer(b: LiveBackend, cmd: o.TransferLeader) -> str:
    to, leader = b.up_member(cmd.to), b.need_leader()
    if to is leader:
        raise CommandRefused(f"Node {cmd.to} already leads.")
    if to.raft_id not in leader.snapshot.get("voters", ()):
        raise CommandRefused(f"Node {cmd.to} is not a voter.")
    if b.control:
        b.command(leader, "transfer", to=to.raft_id)
    else:
        b.in_background("Leader transfer", lambda: _move_leader(b, leader, to))
    return (f"Leader {leader.number} hands over to node {cmd.to}: it stops taking "
            f"proposals, brings {cmd.to} up to date, then tells it to campaign at once "
            f"(MsgTimeoutNow).")


def _move_leader(b: LiveBackend, leader: Member, to: Member) -> str:
    b.channels.maintenance(leader.url).MoveLeader(
        rpc_pb2.MoveLeaderRequest(targetID=to.raft_id), timeout=MEMBER_CHANGE_TIMEOUT_S)
    return f"Node {to.number} leads now (MoveLeader from node {leader.number})."


# -- membership --

def _add_learner(b: LiveBackend, cmd: o.AddLearner) -> str:
    if b.cluster is None:
        raise CommandRefused("Adding a member means starting its process, which only a "
                             "cluster this window started allows; use etcdctl member add "
                             "and start the member yourself.")
    leader = b.need_leader()
    with b._lock:
        number = cmd.node or len(b.members) + 1
        if any(m.number == number for m in b.members) or number != len(b.members) + 1:
            raise CommandRefused(f"The next new node is {len(b.members) + 1}.")
        if number > MAX_MEMBERS:
            raise CommandRefused(f"A live cluster here runs at most {MAX_MEMBERS} members.")
        peer_url, client_url = b.cluster.new_ports()
        b.members.append(Member(number, client_url, f"n{number}"))
    b.in_background("Adding a learner", lambda: _join(b, leader, number, peer_url))
    return (f"Node {number} is being added as a learner: the leader proposes the change, "
            f"then its process starts and catches up from the log without voting.")


def _join(b: LiveBackend, leader: Member, number: int, peer_url: str) -> str:
    member = b.member(number)
    try:
        added = b.channels.cluster(leader.url).MemberAdd(
            rpc_pb2.MemberAddRequest(peerURLs=[peer_url], isLearner=True),
            timeout=MEMBER_CHANGE_TIMEOUT_S)
    except Exception:
        with b._lock:
            b.members.remove(member)    # never joined: no trace of it stays
        raise
    member.raft_id = added.member.ID

    def name(m) -> str:
        return member.name if m.ID == added.member.ID else (m.name or format(m.ID, "x"))
    initial = ",".join(f"{name(m)}={m.peerURLs[0]}" for m in added.members if m.peerURLs)
    b.cluster.join(number, member.name, peer_url, member.url, initial)
    b._observe(member)
    return (f"Node {number} joined as a learner: it receives the log but does not vote. "
            f"Promote (P) it once it has caught up.")


def _promote(b: LiveBackend, cmd: o.Promote) -> str:
    member, leader = b.member(cmd.node), b.need_leader()
    if member.raft_id not in leader.snapshot.get("learners", ()):
        raise CommandRefused(f"Node {cmd.node} is not a learner.")
    b.in_background("Promotion", lambda: _promote_now(b, leader, member))
    return f"Proposed: node {cmd.node} becomes a voter once the change commits."


def _promote_now(b: LiveBackend, leader: Member, member: Member) -> str:
    b.channels.cluster(leader.url).MemberPromote(
        rpc_pb2.MemberPromoteRequest(ID=member.raft_id), timeout=MEMBER_CHANGE_TIMEOUT_S)
    return f"Node {member.number} is a voter now: it counts toward the quorum."


def _remove(b: LiveBackend, cmd: o.RemoveMember) -> str:
    member, leader = b.member(cmd.node), b.need_leader()
    conf = leader.snapshot
    if member.removed or member.raft_id not in (*conf.get("voters", ()),
                                                 *conf.get("learners", ())):
        raise CommandRefused(f"Node {cmd.node} is not a member.")
    if list(conf.get("voters", ())) == [member.raft_id]:
        raise CommandRefused("The last voter cannot be removed.")
    b.in_background("Removal", lambda: _remove_now(b, leader, member))
    return (f"Proposed: remove node {cmd.node}. The quorum shrinks when the change "
            f"commits; then its process stops.")


def _remove_now(b: LiveBackend, leader: Member, member: Member) -> str:
    b.channels.cluster(leader.url).MemberRemove(
        rpc_pb2.MemberRemoveRequest(ID=member.raft_id), timeout=MEMBER_CHANGE_TIMEOUT_S)
    member.removed = True
    if b.cluster is not None and b.cluster.owns(member.number):
        b.cluster.stop_member(member.number)
    return f"Node {member.number} was removed from the cluster and its process stopped."


# -- the keyspace --

def _compact(b: LiveBackend, cmd: o.Compact) -> str:
    view = b.view()
    revision = cmd.revision or view.revision
    if not 0 < revision <= view.revision:
        raise CommandRefused(f"Compact at a revision from 1 to {view.revision}.")
    if revision <= view.compact_revision:
        raise CommandRefused(f"History is already compacted at {view.compact_revision}.")
    result = b.client(f"compact {revision}")
    if not b.control:
        b.compacted_at = max(b.compacted_at, revision)   # etcd does not report it
    return (f"{result.request_id} compacts the keyspace at revision {revision}: older "
            f"history goes; reads and watches below it fail.")


def _defrag(b: LiveBackend, cmd: o.Defrag) -> str:
    member = b.up_member(cmd.node)
    b.in_background("Defragmentation", lambda: _defrag_now(b, member))
    return f"Node {cmd.node} is defragmenting its database (the keys stay as they are)."


def _defrag_now(b: LiveBackend, member: Member) -> str:
    before = int(member.snapshot.get("db_size", 0))
    b.channels.maintenance(member.url).Defragment(rpc_pb2.DefragmentRequest(),
                                                  timeout=MEMBER_CHANGE_TIMEOUT_S)
    status = b.channels.maintenance(member.url).Status(rpc_pb2.StatusRequest(),
                                                       timeout=MEMBER_CHANGE_TIMEOUT_S)
    return (f"Node {member.number} defragmented its database: {before} → {status.dbSize} "
            f"bytes; the keys are unchanged.")


def _client(b: LiveBackend, cmd: o.Client) -> str:
    r = b.client(cmd.line, cmd.node)
    state = "answered" if r.status != "pending" else "in progress"
    return f"{r.request_id} `{cmd.line}` sent to node {r.node}: {state}."


HANDLERS: dict[type, Callable[[LiveBackend, object], str]] = {
    o.PauseWorld: _pause_world, o.Tick: _tick, o.Step: _step, o.Hold: _hold,
    o.Deliver: _deliver, o.DeliverAll: _deliver_all, o.Drop: _drop,
    o.Partition: _partition, o.Heal: _heal, o.SetNetwork: _set_network,
    o.Crash: _crash, o.Restart: _restart, o.PauseNode: _pause_node,
    o.Campaign: _campaign, o.TransferLeader: _transfer, o.AddLearner: _add_learner,
    o.Promote: _promote, o.RemoveMember: _remove, o.Compact: _compact, o.Defrag: _defrag,
    o.Client: _client,
}
