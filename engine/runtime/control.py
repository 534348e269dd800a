"""The control service: raftviz's own small gRPC service beside etcd's, per member.

`Observe` streams JSON snapshots of the member (role, term, vote, commit, applied, log
tail and the revision each applied entry of it produced, per-follower progress, held
messages, the last messages it sent or dropped, fault gate, keyspace revision, its
watchers and where each stands), coalesced to at most one every `interval` and only when
something changed, so a watcher can never slow the member down.
`Command` changes the member at run time: pause and step its clock, hold / deliver / drop
messages, cut links, drop rate, delay, heal, campaign, transfer leadership, crash. JSON
over gRPC's generic handlers keeps it free of a .proto.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from types import MappingProxyType
from typing import Mapping

import grpc
import trio

from engine.kv.describe import describe_request, show
from engine.kv.watch import WatcherPosition
from engine.raft import ConfChange, Entry, EntryType, describe_message

from .envelope import Kind, kv_request, unwrap_traced

from .server import EtcdServer

SERVICE = "raftviz.Control"
LOG_TAIL = 40
REVISIONS_KEPT = 4 * LOG_TAIL    # applied index -> revision, for entries still in the tail
WATCHERS_SHOWN = 20
TRAFFIC_PACE = 0.25      # seconds between reports that bring only new messages
ENTRY_TEXT_MAX = 80      # characters of an entry's description: a log cell shows ~40


def _dumps(obj) -> bytes:
    return json.dumps(obj, sort_keys=True).encode()


def _loads(data: bytes):
    return json.loads(data) if data else {}


def observe(s: EtcdServer, revisions: Mapping[int, int] = MappingProxyType({})) -> dict:
    """One consistent JSON-able snapshot of the member; call on its trio thread.
    `revisions` maps an applied entry's index to the revision it produced."""
    st = s.rawnode.status()
    log = s.rawnode.raft.raft_log
    lo = max(log.first_index(), log.last_index() - LOG_TAIL + 1)
    entries = log.slice(lo, log.last_index() + 1) if log.last_index() >= lo else []
    return {
        "id": s.id, "name": s.cfg.name, "pid": os.getpid(),
        "role": st.soft_state.raft_state.value, "term": st.hard_state.term,
        "vote": st.hard_state.vote, "lead": st.soft_state.lead,
        "commit": st.hard_state.commit, "applied": s.applied,
        "first_index": st.first_index, "last_index": st.last_index,
        "snapshot_index": s.storage.snapshot().metadata.index,
        "voters": sorted(st.conf_state.voters), "learners": sorted(st.conf_state.learners),
        "lead_transferee": st.lead_transferee, "paused": s.paused,
        "progress": {str(i): {"match": p.match, "next": p.next, "state": p.state.value,
                              "recent_active": p.recent_active, "inflight": p.inflight,
                              "learner": p.is_learner} for i, p in st.progress.items()},
        "log": [entry_view(e) for e in entries],
        "revisions": {str(e.index): revisions[e.index] for e in entries if e.index in revisions},
        "held": [{"id": h.id, "text": describe_message(h.message), "to": h.message.to,
                  "type": h.message.type.value} for h in s.gate.held.values()],
        "gate": {"cut": sorted(s.gate.cut), "drop_rate": s.gate.drop_rate,
                 "delay": s.gate.delay, "hold": s.gate.hold},
        "traffic": s.traffic.report(),
        "revision": s.kv.current_revision, "compact_revision": s.kv.compact_revision,
        "db_size": s.kv.size_bytes,
        **client_watchers(s),
        "members": {str(m.id): {"name": m.name, "client_urls": list(m.client_urls),
                                "peer_urls": list(m.peer_urls), "learner": m.is_learner}
                    for m in s.membership.members.values()},
    }


def client_watchers(s: EtcdServer) -> dict:
    """The first WATCHERS_SHOWN watchers clients opened, and how many there are: not
    those a raftviz interface opens for itself (its keyspace mirror, key histories, its
    panel's own watches)."""
    theirs = [(w, origin) for w in s.kv.watcher_positions()
              if (origin := s.watch_origins.get(w.id)) is None or not origin.own]
    return {"watchers": [watcher_view(w, origin) for w, origin in theirs[:WATCHERS_SHOWN]],
            "watchers_total": len(theirs)}


def watcher_view(w: WatcherPosition, origin) -> dict:
    """One watcher: its keys in etcd's (key, range_end) form as text, the revision it
    started from, and `next`, the first revision it has not been given yet."""
    end = "" if w.span.end is None else show(w.span.end) or "\0"
    view = {"key": show(w.span.start), "range_end": end, "start": w.start_rev,
            "next": w.next_rev, "synced": w.synced, "pending": w.pending,
            "filters": list(w.filters),
            "id": w.id, "client": "a client", "events": 0}
    if origin is not None:
        view.update(id=origin.watch_id, client=origin.client, events=origin.events)
    return view


@functools.lru_cache(maxsize=4096)
def entry_view(e: Entry) -> dict:
    """One log entry as the UI shows it: what it carries in words, and for a client
    request the proposing member's request id (hex) and the client's own trace id if it
    gave one (tracing.py), so a request can be followed through every log."""
    view = {"index": e.index, "term": e.term, "type": e.type.value, "request_id": None,
            "trace": None}
    if e.type is EntryType.CONF_CHANGE:
        cc = ConfChange.decode(e.data)
        view["text"] = f"{cc.type.value} {cc.node_id:x}"
    elif not e.data:
        view["text"] = "(new term)"
    else:
        text, view["request_id"], view["trace"] = _payload_text(e.data)
        # A 256-byte value made a 270-character text, most of a busy member's report.
        # Cut with "...": a "…" takes every line the interface draws it in off rich's fast
        # path for measuring text (10 to 40 us a cell instead of 1).
        view["text"] = text if len(text) <= ENTRY_TEXT_MAX else text[:ENTRY_TEXT_MAX - 3] + "..."
    return view


def _payload_text(data: bytes) -> tuple[str, str | None, str | None]:
    try:
        kind, rid, trace, payload = unwrap_traced(data)
        if kind is Kind.KV:
            return describe_request(kv_request(payload)), f"{rid:x}", trace or None
        return f"{kind.name.lower().replace('_', ' ')}", None, None
    except ValueError:
        return data[:24].hex(), None, None


def worth_sending(snap: dict, last: dict | None, since: float) -> bool:
    """A report goes out when it changed, but one whose only news is the member's
    traffic waits TRAFFIC_PACE after the last: an idle cluster's heartbeats would
    otherwise keep every interface redrawing 20 times a second. The traffic report holds
    more messages than an idle member sends in that time, so none is missed."""
    if snap == last:
        return False
    if last is None or since >= TRAFFIC_PACE:
        return True
    return {**snap, "traffic": None} != {**last, "traffic": None}


class Commands:
    """What `Command` can ask; each returns a one-line description of what happened."""

    def __init__(self, server: EtcdServer) -> None:
        self.s = server

    def pause(self, **_) -> str:
        self.s.paused = True
        return f"{self.s.cfg.name}'s clock is paused: it will not tick until resumed or stepped"

    def resume(self, **_) -> str:
        self.s.paused = False
        return f"{self.s.cfg.name}'s clock runs again"

    def step(self, ticks: int = 1, **_) -> str:
        self.s.step_ticks(int(ticks))
        return f"{self.s.cfg.name} ticked {int(ticks)} time(s)"

    def hold(self, on: bool = True, **_) -> str:
        released = self.s.gate.set_hold(bool(on))
        for h in released:
            self.s.transport.enqueue(h.message)
        return "messages are held for delivery one by one" if on else \
            f"hold mode off: {len(released)} held message(s) sent"

    def deliver(self, id: int, **_) -> str:
        m = self.s.gate.release(int(id))
        self.s.transport.enqueue(m)
        return f"delivered {describe_message(m)}"

    def drop(self, id: int, **_) -> str:
        m = self.s.gate.discard(int(id))
        return f"dropped {describe_message(m)}"

    def cut(self, peers: list[int], **_) -> str:
        self.s.gate.set_cut({int(p) for p in peers})
        return f"{self.s.cfg.name} cannot send to {sorted(self.s.gate.cut) or 'nobody'}"

    def heal(self, **_) -> str:
        self.s.gate.heal()
        return f"{self.s.cfg.name}'s links are whole again, without loss or delay"

    def drop_rate(self, rate: float, **_) -> str:
        self.s.gate.set_drop_rate(float(rate))
        return f"{self.s.cfg.name} loses {float(rate):.0%} of what it sends"

    def delay(self, seconds: float, **_) -> str:
        self.s.gate.set_delay(float(seconds))
        return f"{self.s.cfg.name}'s messages take {float(seconds) * 1000:.0f} ms longer"

    def campaign(self, **_) -> str:
        self.s.call_in_loop(self.s.rawnode.campaign)
        return f"{self.s.cfg.name} starts an election"

    def transfer(self, to: int, **_) -> str:
        self.s.call_in_loop(lambda: self.s.rawnode.transfer_leader(int(to)))
        return f"leadership transfer to {int(to):x} requested"

    def crash(self, **_) -> str:
        # Die like kill -9, a moment after answering, so the caller learns it happened.
        threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
        return f"{self.s.cfg.name} crashes now; its disk keeps what it synced"


class Revisions:
    """Which revision each recently applied entry produced, so that an entry a client
    outside the interface sent (etcdctl) can be followed from the log to its revision
    and the watch events it fired. Fed by the member's apply loop, on its trio thread."""

    def __init__(self, revision: int) -> None:
        self.last = revision
        self.by_index: dict[int, int] = {}

    def note(self, entry: Entry, result: object) -> None:
        header = getattr(result, "header", None)     # an error has none
        if header is None or header.revision <= self.last:
            return          # a read, a lease or an unchanged keyspace: no new revision
        self.last = self.by_index[entry.index] = header.revision
        if len(self.by_index) > REVISIONS_KEPT:
            del self.by_index[next(iter(self.by_index))]


class ControlService:
    def __init__(self, server: EtcdServer, token: trio.lowlevel.TrioToken,
                 interval: float = 0.05) -> None:
        self.server = server
        self.token = token
        self.interval = interval
        self.commands = Commands(server)
        self.revisions = Revisions(server.kv.current_revision)
        server.on_apply.append(self.revisions.note)

    def _snapshot(self) -> dict:
        return trio.from_thread.run_sync(observe, self.server, self.revisions.by_index,
                                         trio_token=self.token)

    def observe_stream(self, request, context):
        last, sent_at = None, 0.0
        while context.is_active():
            try:
                snap = self._snapshot()
            except trio.RunFinishedError:
                return
            now = time.monotonic()
            if worth_sending(snap, last, now - sent_at):
                yield snap
                last, sent_at = snap, now
            time.sleep(self.interval)

    def command(self, request, context):
        op = str(request.get("op", ""))
        fn = getattr(self.commands, op.replace("-", "_"), None)
        if fn is None or op.startswith("_"):
            return {"ok": False, "message": f"unknown control command {op!r}"}
        try:
            message = trio.from_thread.run_sync(lambda: fn(**request.get("args", {})),
                                                trio_token=self.token)
            return {"ok": True, "message": message}
        except (KeyError, ValueError, TypeError) as e:
            return {"ok": False, "message": str(e).strip("'\"")}

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(SERVICE, {
            "Observe": grpc.unary_stream_rpc_method_handler(
                self.observe_stream, request_deserializer=_loads, response_serializer=_dumps),
            "Command": grpc.unary_unary_rpc_method_handler(
                self.command, request_deserializer=_loads, response_serializer=_dumps),
        })


class ControlClient:
    """The other end, for the UI, the lessons and the torture nemesis."""

    def __init__(self, url: str) -> None:
        self.channel = grpc.insecure_channel(url.split("://", 1)[-1])
        self._command = self.channel.unary_unary(f"/{SERVICE}/Command",
                                                 request_serializer=_dumps,
                                                 response_deserializer=_loads)
        self._observe = self.channel.unary_stream(f"/{SERVICE}/Observe",
                                                  request_serializer=_dumps,
                                                  response_deserializer=_loads)

    def command(self, op: str, timeout: float = 5.0, **args) -> dict:
        return self._command({"op": op, "args": args}, timeout=timeout)

    def observe(self):
        return self._observe({})

    def close(self) -> None:
        self.channel.close()
