"""What each kind of keyspace client does, one operation at a time.

- `KVClient`: puts of unique values, linearizable, serializable and past-revision gets,
  deletes, compare-and-swap txns on the mod_revision it last read, two-key txns, and
  now and then a compaction; all on a few shared keys, so clients race.
- `WatchClient`: watches the KV clients' keys from a member, asks for progress now and
  then, and resumes elsewhere from the revision after the last it heard of, when its
  member dies, when compaction cancels it, or just to exercise resuming.
- `LeaseClient`: grants a lease, attaches keys to it, keeps it alive for a while, then
  revokes it or lets it expire.

A client calls the workload's primitives (begin, propose, read_index, serve) and hears
back through `done`; `gave_up` is called when an operation timed out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import check
from engine.kv import (
    Compare, CompareResult, CompareTarget, CompactionRequest, DeleteRangeRequest,
    LeaseGrantRequest, LeaseRevokeRequest, PutRequest, RangeRequest, TxnRequest,
    pick_lease_id, prefix_range_end,
)

from .events import ClientWake
from .kv_app import to_reply, to_request
from .kv_params import PlantedBug
from .params import TICK

KEY_PREFIX = b"k"
MAX_COMPACTIONS = 2


def key_name(n: int) -> bytes:
    return KEY_PREFIX + str(n).encode()


@dataclass(slots=True)
class Client:
    id: int
    name: str
    op: int = 0                 # the operation in flight (0: idle)
    node: int = 0
    avoid: int = 0              # the member that just failed us
    pending: object = None
    last_rev: int = 0           # the highest revision this client has heard of

    def heard(self, response: object) -> None:
        rev = getattr(response, "revision", None)
        if isinstance(rev, int):
            self.last_rev = max(self.last_rev, rev)

    def gave_up(self, w) -> None:
        """An operation timed out (the workload retries)."""


@dataclass(slots=True)
class KVClient(Client):
    seen: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)   # key -> (value, mod)
    compactions: int = 0

    def wake(self, w) -> None:
        ops, weights = zip(*w.kvp.mix)
        kind = w.rng.choices(ops, weights)[0]
        if w.healing:
            kind = "get"          # after healing only reads: the liveness probes go first
        key = key_name(w.rng.randrange(w.kvp.keys))
        request = self._request(w, kind, key)
        p = w.begin(self, w.pick_node(self.avoid), to_request(request))
        if isinstance(request, RangeRequest) and not request.serializable:
            w.read_index(p, request)
        elif isinstance(request, RangeRequest):
            p.request = request
            w.serve(p)
        else:
            w.propose(p, request)

    def _request(self, w, kind: str, key: bytes):
        value = f"{self.name}.{w.next_op + 1}".encode()
        if kind == "put":
            return PutRequest(key, value)
        if kind == "get-serializable":
            return RangeRequest(key, serializable=True)
        if kind == "get-at" and self.last_rev > 1:
            at = w.rng.randint(max(1, self.last_rev - 20), self.last_rev)
            return RangeRequest(key, revision=at, serializable=True)
        if kind == "delete":
            return DeleteRangeRequest(key, prev_kv=True)    # so the delete shows what it saw
        if kind == "cas":
            return self._cas(key, value)
        if kind == "txn-2" and w.kvp.keys > 1:
            return self._two_keys(w, key, value)
        if kind == "compact" and self.compactions < MAX_COMPACTIONS and self.last_rev > 30:
            self.compactions += 1
            return CompactionRequest(self.last_rev - 15)
        return RangeRequest(key)

    def _cas(self, key: bytes, value: bytes) -> TxnRequest:
        """Swap the value if no one wrote since our last read; else read what beat us."""
        mod = self.seen.get(key, (b"", 0))[1]
        guard = Compare(key, CompareTarget.MOD, CompareResult.EQUAL, mod_revision=mod)
        return TxnRequest((guard,), (PutRequest(key, value),), (RangeRequest(key),))

    def _two_keys(self, w, key: bytes, value: bytes) -> TxnRequest:
        other = key_name((int(key[1:]) + 1) % w.kvp.keys)
        old = self.seen.get(key, (b"", 0))[0]
        guard = Compare(key, CompareTarget.VALUE, CompareResult.EQUAL, value=old)
        writes = (PutRequest(key, value), PutRequest(other, value + b"'"))
        return TxnRequest((guard,), writes, (RangeRequest(key), RangeRequest(other)))

    def done(self, w, p, response) -> None:
        self.heard(response)
        self._remember(p.request, response)
        w.world.schedule(w.think() + w.backoff(response), ClientWake(self.id))

    def _remember(self, request, response) -> None:
        if isinstance(response, check.Read) and isinstance(request, RangeRequest):
            kv = response.kv
            self.seen[request.key] = (kv.value, kv.mod) if kv else (b"", 0)
        elif isinstance(response, check.TxnResult) and isinstance(request, TxnRequest):
            gets = [op for op in (request.success if response.succeeded else request.failure)
                    if isinstance(op, RangeRequest)]
            for get, kv in zip(gets, response.reads):
                self.seen[get.key] = (kv.value, kv.mod) if kv else (b"", 0)
            if response.succeeded:
                for put in request.success:
                    self.seen[put.key] = (put.value, response.revision)
        elif isinstance(response, check.Written) and isinstance(request, PutRequest):
            self.seen[request.key] = (request.value, response.revision or 0)


@dataclass(slots=True)
class OpenStream:
    """A watch stream in progress, at one member."""
    name: str
    start: int                          # the revision asked for (0: from now)
    created: int                        # the member's revision when it was created
    replies: list = field(default_factory=list)

    def record(self) -> check.WatchStream:
        return check.WatchStream(self.name, KEY_PREFIX, prefix_range_end(KEY_PREFIX),
                                 self.start, self.created, tuple(self.replies))


@dataclass(slots=True)
class WatchClient(Client):
    stream: OpenStream | None = None
    streams: list = field(default_factory=list)   # finished check.WatchStream records
    watch_id: int = -1
    next_start: int = 0                 # where the next stream starts (0: now)
    resume_at: int = 0                  # world time of the next voluntary resume

    def wake(self, w) -> None:
        if self.stream is None:
            self._open(w)
        elif w.world.now >= self.resume_at and not w.quiet:
            self._close(w)                  # and resume elsewhere, from where it got to
            self._open(w)
        else:
            self._progress(w)
        w.world.schedule(w.rng.randint(5, 20) * TICK, ClientWake(self.id))

    def _open(self, w) -> None:
        self.node = w.pick_node(self.avoid)
        member = w.world.nodes[self.node]
        if not member.up:
            self.avoid = self.node
            return
        store, start = member.app.store, self.next_start
        asked = start + 1 if start and w.bug is PlantedBug.WATCH_SKIPS_REVISION else start
        self.watch_id = store.watch(KEY_PREFIX, prefix_range_end(KEY_PREFIX), asked,
                                    progress_notify=True)
        w.tables[self.node].watches[self.watch_id] = self
        self.stream = OpenStream(f"{self.name} stream {len(self.streams)} at member "
                                 f"{self.node}", start, store.current_revision)
        lo, hi = w.kvp.resume_every
        self.resume_at = w.world.now + w.rng.randint(lo, hi) * TICK
        self.avoid = 0
        w.deliver_watches(self.node)

    def _progress(self, w) -> None:
        store = w.world.nodes[self.node].app.store
        store.request_progress([self.watch_id])
        w.deliver_watches(self.node)

    def received(self, w, responses) -> None:
        replies = self.stream.replies
        for r in responses:
            reply = to_reply(w.history.stamp(), r)
            replies.append(reply)
            top = max([reply.revision if reply.is_progress else 0] +
                      [e.revision for e in reply.events])
            self.next_start = max(self.next_start, top + 1)
            if r.canceled:
                self.next_start = max(self.next_start, r.compact_revision)
                self._end(w)
                return

    def broken(self, w) -> None:
        """Its member crashed: the stream is gone."""
        self._end(w)

    def _close(self, w) -> None:
        member = w.world.nodes[self.node]
        if member.up:
            member.app.store.cancel_watch(self.watch_id)
        w.tables[self.node].watches.pop(self.watch_id, None)
        self._end(w)

    def _end(self, w) -> None:
        if self.stream is None:
            return
        self.streams.append(self.stream.record())
        if not self.next_start:
            self.next_start = self.stream.start or self.stream.created + 1
        w.tables[self.node].watches.pop(self.watch_id, None)
        self.stream, self.avoid = None, self.node

    def final_progress(self, w) -> None:
        if self.stream is not None and w.world.nodes[self.node].up:
            self._progress(w)
        if self.stream is not None:
            self._close(w)


@dataclass(slots=True)
class LeaseClient(Client):
    lease: int = 0
    ttl: int = 0
    phase: str = "grant"
    rounds: int = 0             # keep-alives still to send
    keys: int = 0               # keys attached so far

    def wake(self, w) -> None:
        if w.healing and self.phase != "keepalive":
            w.world.schedule(10 * TICK, ClientWake(self.id))   # no new log entries now
            return
        getattr(self, "_" + self.phase)(w)

    def _grant(self, w) -> None:
        self.lease, self.keys = pick_lease_id(w.rng), 0
        low = w.world.kv_config.min_lease_ttl
        self.ttl = w.rng.randint(low, low + 2)
        self.rounds = w.rng.randint(*w.kvp.lease_rounds)
        request = LeaseGrantRequest(self.ttl, self.lease)
        w.propose(w.begin(self, w.pick_node(self.avoid), to_request(request)), request)

    def _attach(self, w) -> None:
        key = b"lease/%x/%d" % (self.lease, self.keys)
        request = PutRequest(key, f"{self.name}.{w.next_op + 1}".encode(), lease=self.lease)
        w.propose(w.begin(self, w.pick_node(self.avoid), to_request(request)), request)

    def _keepalive(self, w) -> None:
        node = self.node if self.node and not self.avoid else w.pick_node(self.avoid)
        p = w.begin(self, node, check.LeaseKeepAlive(self.lease))
        member = w.world.nodes[node]
        if member.up and not member.app.store.is_leader:
            p.node = member.rawnode.raft.lead or node    # a follower forwards it, as etcd's
            member = w.world.nodes[p.node]
        if member.up and member.app.store.is_leader:
            w.read_index(p, self.lease)      # confirm leadership, then renew
        else:
            w.finish(p, check.Failed("etcdserver: not leader"))

    def _end(self, w) -> None:
        if w.rng.random() < 0.5:
            request = LeaseRevokeRequest(self.lease)
            w.propose(w.begin(self, w.pick_node(self.avoid), to_request(request)), request)
        else:
            self.phase = "grant"            # let it expire; wait well past its TTL
            w.world.schedule((self.ttl + 2) * 1000, ClientWake(self.id))

    def done(self, w, p, response) -> None:
        self.heard(response)
        delay = w.think() + w.backoff(response)
        if isinstance(response, check.Failed):
            if self.phase != "keepalive" or "not found" in response.error:
                self.phase = "grant"
        elif self.phase == "grant":
            self.phase = "attach"
        elif self.phase == "attach":
            self.keys += 1
            self.phase = "attach" if self.keys < 2 and w.rng.random() < 0.5 else "keepalive"
        elif self.phase == "keepalive":
            self.rounds -= 1
            self.phase = "keepalive" if self.rounds > 0 else "end"
            delay = self.ttl * 1000 // 3
        else:
            self.phase = "grant"
        w.world.schedule(delay, ClientWake(self.id))

    def gave_up(self, w) -> None:
        self.phase = "grant"
