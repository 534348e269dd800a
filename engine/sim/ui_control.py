"""Carrying out one user command on the interactive world, with a sentence saying what it did.

`apply_command(world, command)` returns the explanation shown to the user and the command
as it should be recorded (a learner added as "the next free id" is recorded with the id it
got, a client line with the node that took it), so replaying the record is exact. Anything
impossible raises `CommandRefused` before the world changes.
"""

from __future__ import annotations

from engine import observe as o
from engine.observe import CommandRefused, CrashMode
from engine.raft import ConfChange, ConfChangeType, ProposalDropped

from .ui_net import NetParams, describe_links
from .ui_serve import choose_node, serve, split_endpoint
from .ui_world import TICK_MS, World


def apply_command(world: World, cmd: o.Command) -> tuple[str, o.Command]:
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        raise CommandRefused(f"The simulator cannot do {type(cmd).__name__}.")
    return handler(world, cmd)


def clock(world: World) -> str:
    return f"t={world.time / 1000:.3f}s"


# -- time --

def _tick(world: World, cmd: o.Tick) -> tuple[str, o.Command]:
    if not 1 <= cmd.count <= 10_000:
        raise CommandRefused("Tick between 1 and 10000 times.")
    for _ in range(cmd.count):
        world.tick()
    what = "one tick" if cmd.count == 1 else f"{cmd.count} ticks"
    return f"Time moved {what} to {clock(world)}.", cmd


def _step(world: World, cmd: o.Step) -> tuple[str, o.Command]:
    if not 1 <= cmd.count <= 10_000:
        raise CommandRefused("Step between 1 and 10000 events.")
    if world.next_event() is None:
        raise CommandRefused("Nothing can happen: every node is down or paused.")
    text = ""
    for _ in range(cmd.count):
        if world.next_event() is None:
            break
        text = world.step()
    return f"{clock(world)}: {text}.", cmd


def _pause_world(world: World, cmd: o.PauseWorld) -> tuple[str, o.Command]:
    raise CommandRefused("The simulated world is always paused: time moves only when "
                         "you tick, step or play.")


# -- messages --

def _hold(world: World, cmd: o.Hold) -> tuple[str, o.Command]:
    changed = world.wire.set_hold(cmd.on, world.time)
    if cmd.on:
        return (f"Hold is on: every message waits until you deliver or drop it "
                f"({changed} caught on the wire).", cmd)
    return f"Hold is off: {changed} held messages are on their way again.", cmd


def _waiting(world: World, msg_id: int):
    flight = world.wire.get(msg_id)
    if flight is None:
        raise CommandRefused(f"Message #{msg_id} is not waiting: it was delivered or dropped.")
    return flight


def _deliver(world: World, cmd: o.Deliver) -> tuple[str, o.Command]:
    flight = _waiting(world, cmd.msg_id)
    if flight.msg.to in world.paused:
        raise CommandRefused(f"Node {flight.msg.to} is paused; resume it to deliver.")
    text = world.deliver(flight)
    return text[0].upper() + text[1:] + ".", cmd


def _deliver_all(world: World, cmd: o.DeliverAll) -> tuple[str, o.Command]:
    held = [f for f in world.wire.held() if f.msg.to not in world.paused]
    if not held:
        raise CommandRefused("No held message can be delivered now.")
    for flight in held:
        if world.wire.get(flight.id) is not None:
            world.deliver(flight)
    return f"Delivered {len(held)} held messages, oldest first.", cmd


def _drop(world: World, cmd: o.Drop) -> tuple[str, o.Command]:
    flight = _waiting(world, cmd.msg_id)
    world.drop(flight, "dropped by you")
    m = flight.msg
    return f"Dropped #{flight.id} {m.type.value} {m.frm}→{m.to}: it never arrives.", cmd


# -- the network and the disk --

def _partition(world: World, cmd: o.Partition) -> tuple[str, o.Command]:
    for a, b in cmd.links:
        world.node(a), world.node(b)
        if a == b:
            raise CommandRefused("A node cannot be cut off from itself.")
    if not cmd.links:
        raise CommandRefused("Choose at least one link to cut.")
    world.wire.cuts |= set(cmd.links)
    return (f"Cut {describe_links(cmd.links)}: messages across these links are lost. "
            f"Now cut: {describe_links(world.wire.cuts)}.", cmd)


def _heal(world: World, cmd: o.Heal) -> tuple[str, o.Command]:
    if not world.wire.cuts:
        raise CommandRefused("No link is cut.")
    world.wire.cuts.clear()
    return "Network healed: every link carries messages again (lost ones stay lost).", cmd


def _set_network(world: World, cmd: o.SetNetwork) -> tuple[str, o.Command]:
    if not 0 <= cmd.min_delay <= cmd.max_delay <= 10_000:
        raise CommandRefused("Delays must satisfy 0 ≤ min ≤ max ≤ 10000 ms.")
    if not (0 <= cmd.drop_rate < 1 and 0 <= cmd.duplicate_rate < 1):
        raise CommandRefused("Drop and duplicate rates are fractions below 1.")
    world.wire.params = NetParams(cmd.min_delay, cmd.max_delay, cmd.drop_rate,
                                  cmd.duplicate_rate, cmd.reorder)
    order = "may overtake each other" if cmd.reorder else "keep their order on each link"
    return (f"Network: {cmd.min_delay}–{cmd.max_delay} ms per message, "
            f"{cmd.drop_rate:.0%} lost, {cmd.duplicate_rate:.0%} duplicated; "
            f"messages {order}.", cmd)


def _set_disk(world: World, cmd: o.SetDisk) -> tuple[str, o.Command]:
    if not 0 <= cmd.fsync_ms <= 10_000:
        raise CommandRefused("An fsync takes 0 to 10000 ms.")
    world.fsync_ms = cmd.fsync_ms
    if not cmd.fsync_ms:
        return "Disk: writes are durable at once.", cmd
    return (f"Disk: each fsync takes {cmd.fsync_ms} ms; a node sends nothing that depends "
            f"on a write until it is durable.", cmd)


# -- nodes --

def _crash(world: World, cmd: o.Crash) -> tuple[str, o.Command]:
    n = world.running(cmd.node)
    pending = world.syncing.pop(cmd.node, None)
    unsynced = len(pending[0].entries) if pending else 0
    if pending and cmd.mode is CrashMode.KEEP_DISK:
        world.persist(cmd.node, pending[0])
    torn = world.persist_torn(cmd.node, pending[0]) \
        if pending and cmd.mode is CrashMode.TORN else None
    world.tracker.node_down(cmd.node, world.time)
    world.paused.discard(cmd.node)
    if cmd.mode is CrashMode.WIPE:
        n.wipe()
        world.db_size[cmd.node] = 0
    else:
        n.crash()
    if cmd.mode is CrashMode.TORN:
        return _torn_note(cmd.node, unsynced, pending is not None, torn), cmd
    return _crash_note(cmd, unsynced, pending is not None), cmd


def _torn_note(node: int, unsynced: int, pending: bool, torn: int | None) -> str:
    who = f"Node {node}"
    if not pending:
        return (f"{who} lost power, but no write was in progress: its disk is intact "
                f"(slow the disk to cut the power halfway through a write).")
    if torn is None:
        return (f"{who} lost power in the middle of a write that cannot be kept in part "
                f"(it changes the term or holds a snapshot, or has no entries): it is lost "
                f"whole, like an unsynced write. Nothing in it was promised yet.")
    return (f"{who} lost power halfway through writing {unsynced} entries: "
            f"{unsynced - 1} reached the disk whole, the last record (entry {torn}) is "
            f"torn. At restart the WAL's checksum exposes it and it is cut off. None of "
            f"them was answered or sent yet: a node does both only after its fsync.")


def _crash_note(cmd: o.Crash, unsynced: int, pending: bool) -> str:
    who = f"Node {cmd.node}"
    if cmd.mode is CrashMode.KEEP_DISK:
        return (f"{who} crashed: its disk keeps everything it wrote; its role, inbox and "
                f"unapplied state are gone.")
    if cmd.mode is CrashMode.WIPE:
        return (f"{who}'s disk was wiped: it returns with no log, term or vote. Raft "
                f"assumes this never happens to a voter.")
    if not pending:
        return (f"{who} lost power: nothing was waiting for fsync, so its disk is intact "
                f"(slow the disk to see unsynced writes lost).")
    return (f"{who} lost power: {unsynced} entries written but not yet fsynced are gone; "
            f"it never acknowledged them, so Raft is safe.")


def _restart(world: World, cmd: o.Restart) -> tuple[str, o.Command]:
    n = world.node(cmd.node)
    if cmd.node in world.removed:
        raise CommandRefused(f"Node {cmd.node} was removed from the cluster.")
    if n.up:
        raise CommandRefused(f"Node {cmd.node} is already running.")
    n.start()
    world.clocks[cmd.node].rebase(world.time)
    world.settle(cmd.node)
    disk = n.disk
    torn = world.torn.pop(cmd.node, None)
    repair = "" if torn is None else (
        f" Its WAL ended in a torn record (entry {torn}, half written when the power "
        f"failed): the checksum did not match, so the record was cut off.")
    return (f"Node {cmd.node} restarted from its disk: term {disk.hard_state.term}, "
            f"log up to {disk.last_index()}, commit {disk.hard_state.commit}.{repair}", cmd)


def _set_raft_flags(world: World, cmd: o.SetRaftFlags) -> tuple[str, o.Command]:
    if cmd.pre_vote is None and cmd.check_quorum is None:
        raise CommandRefused("Say which option to set: PreVote, CheckQuorum or both.")
    if cmd.pre_vote is not None:
        world.params.pre_vote = cmd.pre_vote
    if cmd.check_quorum is not None:
        world.params.check_quorum = cmd.check_quorum
    state = ", ".join(f"{name} {'on' if on else 'off'}" for name, on in (
        ("PreVote", world.params.pre_vote), ("CheckQuorum", world.params.check_quorum)))
    return (f"{state} from now on. Like etcd, each node reads these options when it "
            f"starts: restart the nodes, one at a time, to roll the change out.", cmd)


def _pause_node(world: World, cmd: o.PauseNode) -> tuple[str, o.Command]:
    world.running(cmd.node)
    if cmd.paused:
        world.paused.add(cmd.node)
        return (f"Node {cmd.node} is frozen: it neither ticks nor reads messages "
                f"(they wait for it).", cmd)
    world.paused.discard(cmd.node)
    world.clocks[cmd.node].rebase(world.time)
    world.settle(cmd.node)
    return f"Node {cmd.node} resumed; messages that waited for it land now.", cmd


def _skew(world: World, cmd: o.SkewClock) -> tuple[str, o.Command]:
    world.node(cmd.node)
    if not 10 <= cmd.rate <= 1000:
        raise CommandRefused("Clock rate is between 10% and 1000% of real time.")
    c = world.clocks[cmd.node]
    c.rebase(world.time)
    c.rate = cmd.rate
    period = TICK_MS * 100 // cmd.rate
    return (f"Node {cmd.node}'s clock runs at {cmd.rate}%: it ticks every {period} ms, so "
            f"its timeouts fire {'sooner' if cmd.rate > 100 else 'later'}.", cmd)


def _campaign(world: World, cmd: o.Campaign) -> tuple[str, o.Command]:
    n = world.running(cmd.node)
    if cmd.node not in n.conf_state().voters:
        raise CommandRefused(f"Node {cmd.node} is not a voter and cannot campaign.")
    n.rawnode.campaign()
    world.settle(cmd.node)
    cfg = n.rawnode.raft.cfg
    how = "asking for pre-votes first" if cfg.pre_vote else "raising its term at once"
    lease = "; voters that still hear from a leader refuse" if cfg.check_quorum else ""
    return f"Node {cmd.node} campaigns, {how}{lease}.", cmd


def _snapshot(world: World, cmd: o.Snapshot) -> tuple[str, o.Command]:
    n = world.running(cmd.node)
    before = n.disk.snapshot().metadata.index
    if n.applied <= before or n.applied > n.disk.last_index():
        raise CommandRefused(f"Node {cmd.node} has nothing new to snapshot.")
    n.snapshot_now()
    return (f"Node {cmd.node} saved a snapshot at index {n.applied}; its log now starts at "
            f"{n.disk.first_index()} (older entries are in the snapshot).", cmd)


def _defrag(world: World, cmd: o.Defrag) -> tuple[str, o.Command]:
    world.running(cmd.node)
    before = world.db_size[cmd.node]
    after = world.store(cmd.node).size_bytes
    world.db_size[cmd.node] = after
    return (f"Node {cmd.node} defragmented its database: {before} → {after} bytes on disk; "
            f"the keys are unchanged.", cmd)


# -- leadership and membership --

def _need_leader(world: World):
    leader = world.leader()
    if leader is None:
        raise CommandRefused("There is no leader right now; tick until one is elected.")
    return leader


def _transfer(world: World, cmd: o.TransferLeader) -> tuple[str, o.Command]:
    leader = _need_leader(world)
    world.node(cmd.to)
    if cmd.to == leader.id:
        raise CommandRefused(f"Node {cmd.to} already leads.")
    if cmd.to not in leader.conf_state().voters:
        raise CommandRefused(f"Node {cmd.to} is not a voter.")
    leader.rawnode.transfer_leader(cmd.to)
    world.settle(leader.id)
    return (f"Leader {leader.id} hands over to node {cmd.to}: it stops taking proposals, "
            f"brings {cmd.to} up to date, then tells it to campaign (MsgTimeoutNow).", cmd)


def _conf_change(world: World, kind: ConfChangeType, node: int) -> None:
    leader = _need_leader(world)
    try:
        leader.rawnode.propose_conf_change(ConfChange(kind, node))
    except ProposalDropped as exc:
        raise CommandRefused(f"The leader refused: {exc or 'a change is in progress'}.")
    world.settle(leader.id)


def _add_learner(world: World, cmd: o.AddLearner) -> tuple[str, o.Command]:
    node = cmd.node or max(world.nodes) + 1
    if node in world.nodes:
        raise CommandRefused(f"Node {node} already exists.")
    if len(world.nodes) >= 9:
        raise CommandRefused("The simulator runs at most 9 nodes.")
    cs = _need_leader(world).conf_state()
    _conf_change(world, ConfChangeType.ADD_LEARNER, node)
    world.add_node(node, tuple(sorted(cs.voters)), tuple(sorted(cs.learners | {node})))
    return (f"Node {node} joins as a learner: it receives the log but does not vote. "
            f"Promote it once it has caught up.", o.AddLearner(node))


def _promote(world: World, cmd: o.Promote) -> tuple[str, o.Command]:
    if cmd.node not in _need_leader(world).conf_state().learners:
        raise CommandRefused(f"Node {cmd.node} is not a learner.")
    _conf_change(world, ConfChangeType.ADD_NODE, cmd.node)
    return f"Proposed: node {cmd.node} becomes a voter once this change commits.", cmd


def _remove(world: World, cmd: o.RemoveMember) -> tuple[str, o.Command]:
    cs = _need_leader(world).conf_state()
    if cmd.node not in cs.voters | cs.learners:
        raise CommandRefused(f"Node {cmd.node} is not a member.")
    if cs.voters == {cmd.node}:
        raise CommandRefused("The last voter cannot be removed.")
    _conf_change(world, ConfChangeType.REMOVE_NODE, cmd.node)
    return (f"Proposed: remove node {cmd.node}. It stops once it applies the change; the "
            f"quorum shrinks when the change commits.", cmd)


# -- the keyspace --

def _client(world: World, cmd: o.Client) -> tuple[str, o.Command]:
    line, node = split_endpoint(cmd.line, cmd.node)
    node = choose_node(world, node)
    trace = serve(world, line, node)
    world.last_client = trace.id
    state = "answered" if trace.status != "pending" else "in progress"
    return (f"r{trace.id} `{line}` sent to node {node}: {state}.",
            o.Client(line, node))


def _compact(world: World, cmd: o.Compact) -> tuple[str, o.Command]:
    node = choose_node(world, 0)
    revision = cmd.revision or world.store(node).current_revision
    note, _ = _client(world, o.Client(f"compact {revision}", node))
    return note, o.Compact(revision)


_HANDLERS = {
    o.Tick: _tick, o.Step: _step, o.PauseWorld: _pause_world, o.Hold: _hold,
    o.Deliver: _deliver, o.DeliverAll: _deliver_all, o.Drop: _drop,
    o.Partition: _partition, o.Heal: _heal, o.SetNetwork: _set_network,
    o.SetDisk: _set_disk, o.Crash: _crash, o.SetRaftFlags: _set_raft_flags,
    o.Restart: _restart, o.PauseNode: _pause_node,
    o.SkewClock: _skew, o.Campaign: _campaign, o.Snapshot: _snapshot, o.Defrag: _defrag,
    o.TransferLeader: _transfer, o.AddLearner: _add_learner, o.Promote: _promote,
    o.RemoveMember: _remove, o.Client: _client, o.Compact: _compact,
}
