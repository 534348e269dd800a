"""Serving a client's etcdctl-like line on one simulated member, as etcd's server would.

Writes (put, del, txn, compact, lease grant and revoke) are proposed through Raft on the
member the client talks to (a follower forwards them to the leader as MsgProp) and are
answered when that member applies them. Linearizable reads ask for a ReadIndex first;
serializable reads (`--consistency=s`) answer at once from the member's own keyspace.
Lease keep-alives and time-to-live questions go to the leader's lessor. Watches open on
the member's keyspace and fill in as it applies the log.

The storage quota is checked before proposing, against the member's database file (only a
defragmentation shrinks it): a write that does not fit is refused with etcd's NO_SPACE
error and the member raises the NOSPACE alarm through the log. Alarm requests go through
the log too, as in etcd 3.4; `alarm disarm` lists the member's alarms and proposes one
deactivation per alarm, as etcdctl does, and is answered when all of them are.
"""

from __future__ import annotations

from dataclasses import replace

from engine.kv import (
    AlarmAction, AlarmRequest, AlarmType, ErrorKind, KVError, LeaseGrantRequest, Request,
    request_cost,
)
from engine.kv.describe import describe_span
from engine.observe import CommandRefused
from engine.raft import ProposalDropped

from .ui_client import NO_ALARMS, ClientError, ClientOp, format_error, parse_client_line
from .ui_keyspace import wrap
from .ui_requests import Trace
from .ui_world import World

NO_LEADER = "Error: etcdserver: no leader"


def split_endpoint(line: str, node: int) -> tuple[str, int]:
    """`@2 get k` sends `get k` to node 2."""
    line = line.strip()
    if line.startswith("@"):
        head, _, rest = line.partition(" ")
        try:
            return rest.strip(), int(head[1:])
        except ValueError:
            raise CommandRefused(f"{head!r} does not name a node; write e.g. @2") from None
    return line, node


def choose_node(world: World, node: int) -> int:
    if node:
        world.running(node)
        return node
    leader = world.leader()
    if leader is not None:
        return leader.id
    running = [i for i in sorted(world.nodes) if world.live(i)]
    if not running:
        raise CommandRefused("Every node is down: there is nobody to talk to.")
    return running[0]


def serve(world: World, line: str, node: int) -> Trace:
    """Take a client line on `node` (already chosen); the trace says what became of it."""
    try:
        op = parse_client_line(line)
    except ClientError as exc:
        raise CommandRefused(str(exc)) from None
    handler = _HANDLERS[op.kind]
    return handler(world, line, node, op)


def _write(world: World, line: str, node: int, op: ClientOp) -> Trace:
    request = op.request
    if isinstance(request, LeaseGrantRequest) and not request.id:
        request = replace(request, id=world.lease_rng.randrange(0x1000_0000, 0xFFFF_FFFF))
    trace = world.tracker.start(line, node, world.time, "log", request)
    try:
        world.store(node).validate(request)
        if not fits_quota(world, node, request):
            raise KVError(ErrorKind.NO_SPACE)   # etcd refuses before proposing
    except KVError as exc:
        trace.finish(world.time, format_error(exc), ok=False)
        if exc.kind is ErrorKind.NO_SPACE:
            _sound_nospace(world, node)
        return trace
    try:
        world.nodes[node].rawnode.propose(wrap(trace.id, request))
    except ProposalDropped:
        trace.finish(world.time, NO_LEADER, ok=False)
        return trace
    world.settle(node)
    return trace


def fits_quota(world: World, node: int, request: Request) -> bool:
    """etcd's check before proposing: what the request may add still fits in the quota
    beside the member's database file (data no longer in use counts until a defrag)."""
    cost = request_cost(request)
    return cost == 0 or world.db_size[node] + cost < world.kv_config.quota_backend_bytes


def _sound_nospace(world: World, node: int) -> None:
    """Raise the member's NOSPACE alarm, unless it already knows that alarm is raised."""
    raised = world.store(node).alarms(AlarmType.NOSPACE)
    if all(alarm.member_id != node for alarm in raised):
        world.raise_nospace(node)
        world.settle(node)


def _disarm(world: World, line: str, node: int, op: ClientOp) -> Trace:
    """`alarm disarm`: one deactivation per alarm the member knows of, through the log;
    the client's request is answered once every one of them is."""
    parts = [world.propose_internal(node, f"alarm disarm {a.alarm.name} member {a.member_id}",
                                    AlarmRequest(AlarmAction.DEACTIVATE, a.member_id, a.alarm))
             for a in world.store(node).alarms()]
    trace = world.tracker.start(line, node, world.time, "log")
    if not parts:
        trace.finish(world.time, NO_ALARMS)
        return trace
    world.tracker.group(trace, parts, world.time)
    world.settle(node)
    return trace


def _read(world: World, line: str, node: int, op: ClientOp) -> Trace:
    if op.serializable:
        trace = world.tracker.start(line, node, world.time, "local", op.request)
        world.answer_locally(trace, node)
        return trace
    trace = world.tracker.start(line, node, world.time, "read-index", op.request)
    world.nodes[node].rawnode.read_index(str(trace.id).encode())
    world.settle(node)
    return trace


def _watch(world: World, line: str, node: int, op: ClientOp) -> Trace:
    spec = op.watch
    assert spec is not None
    trace = world.tracker.start(line, node, world.time, "local")
    store = world.store(node)
    watch = world.tracker.add_watch(node, spec.key, spec.range_end, spec.start_revision)
    store.watch(spec.key, spec.range_end, spec.start_revision, prev_kv=spec.prev_kv,
                watch_id=watch.id)
    world.tracker.watch_responses(node, store.drain_responses())
    start = f" from revision {spec.start_revision}" if spec.start_revision else ""
    trace.finish(world.time, f"watch {watch.id} on node {node}: "
                             f"{describe_span(spec.key, spec.range_end)}{start}")
    return trace


def _unwatch(world: World, line: str, node: int, op: ClientOp) -> Trace:
    trace = world.tracker.start(line, node, world.time, "local")
    watch = world.tracker.watches.get(op.number)
    if watch is None or watch.canceled:
        trace.finish(world.time, f"Error: no open watch {op.number}", ok=False)
        return trace
    if world.live(watch.node):
        world.store(watch.node).cancel_watch(watch.id)
    world.tracker.cancel_watch(watch.id)
    trace.finish(world.time, f"watch {watch.id} canceled")
    return trace


def _leader_side(world: World, line: str, node: int, op: ClientOp) -> Trace:
    """Keep-alive, time-to-live and lease lists: answered by the leader's lessor."""
    trace = world.tracker.start(line, node, world.time, "local")
    leader = world.leader()
    if leader is None:
        trace.finish(world.time, NO_LEADER, ok=False)
        return trace
    store, now = world.store(leader.id), world.clocks[leader.id].seconds()
    try:
        trace.finish(world.time, _lease_answer(store, op, now))
    except KVError as exc:
        trace.finish(world.time, format_error(exc), ok=False)
    return trace


def _lease_answer(store, op: ClientOp, now: float) -> str:
    if op.kind == "keepalive":
        r = store.lease_keepalive(op.number, now)
        return f"lease {r.id:x} keepalived with TTL({r.ttl})"
    if op.kind == "ttl":
        r = store.lease_time_to_live(op.number, now, keys=op.with_keys)
        if r.ttl == -1:
            return f"lease {op.number:x} already expired"
        text = f"lease {r.id:x} granted with TTL({r.granted_ttl}s), remaining({r.ttl}s)"
        if op.with_keys:
            text += ", attached keys([" + " ".join(k.decode() for k in r.keys) + "])"
        return text
    leases = store.lease_leases().leases
    return "\n".join([f"found {len(leases)} leases"] + [format(i, "x") for i in leases])


_HANDLERS = {"write": _write, "read": _read, "watch": _watch, "unwatch": _unwatch,
             "keepalive": _leader_side, "ttl": _leader_side, "leases": _leader_side,
             "alarm": _write, "disarm": _disarm}
