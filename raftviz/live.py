"""`LiveBackend`: the interface's view of, and hand on, a real running cluster.

`LiveBackend.start(nodes)` starts a local cluster of `raftviz node` processes (one per
member, as `raftviz up` does) and owns it; `LiveBackend.attach(endpoints)` watches a
cluster someone else started: through raftviz's control service when the members serve
it, else read-only through etcd's own API (a real etcd). Background threads keep the
latest word from every member (live_observe), the messages they send (live_traffic), the
keyspace and leases (live_keyspace), client requests and watches (live_client,
live_watch), and where each request's entry is in every member's log (live_links);
`view()` only assembles what they hold, so the interface never waits on the network.
Commands are in live_commands.

Time on a live cluster is the wall clock. Freezing the world (PauseWorld) stops every
member's clock and holds every message; only then can time be moved by hand, so
MANUAL_CLOCK is a capability only while frozen. Clock skew, disk speed, snapshots on
demand and undo are simulator-only.

The command line opens the interface on it through live_app (`run_live`, `run_attach`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import grpc

from engine import observe as o
from engine.observe import Cap, ClientResult, ClusterView, CommandRefused, MessageView
from engine.runtime.control import ControlClient
from engine.sim.ui_client import ClientError, parse_client_line
from engine.kv.describe import describe_span

from . import live_commands, live_views
from .errors import error_line
from .live_client import Channels, Requests, Sender, path_of, split_endpoint
from .live_keyspace import KeyspaceCache, Target
from .live_links import EntryLinks
from .live_observe import ControlObserver, EtcdPoller, Member, Notifier, member_urls, probe
from .live_procs import LocalCluster
from .live_traffic import TrafficLog
from .live_watch import Watches

CONTROL_CAPS = frozenset(Cap) - {Cap.HISTORY, Cap.SKEW, Cap.DISK, Cap.SNAPSHOT,
                                 Cap.MANUAL_CLOCK}
ETCD_CAPS = frozenset({Cap.CLIENT, Cap.COMPACT, Cap.DEFRAG, Cap.TRANSFER, Cap.MEMBERSHIP})
LEADER_WAIT_S = 20.0
COMMAND_TIMEOUT_S = 2.0
LIVE_NOTE = ("Live cluster: time runs by itself; freeze it to move it by hand. Try "
             "etcdctl --endpoints={endpoints} put greeting hello")
ETCD_NOTE = ("Attached to etcd: its API shows members, terms, indexes, keys, leases and "
             "watches; the controls it cannot offer are dimmed.")
HISTORY_KEPT = 200


class LiveError(Exception):
    """The cluster cannot be started or reached; the text says why, in one line."""


def normalize(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    return endpoint if "://" in endpoint else f"http://{endpoint}"


class LiveBackend:
    def __init__(self, urls: list[str], *, control: bool,
                 cluster: LocalCluster | None = None) -> None:
        self.control, self.cluster = control, cluster
        # Time 0: when the cluster started if this backend started it (its first
        # messages are in the members' first reports), else when it attached.
        self.started = cluster.started_at if cluster is not None else time.monotonic()
        self.traffic = TrafficLog(int(time.time() * 1000) - self.clock())
        self.stop = threading.Event()
        self._lock = threading.RLock()
        self.members = [Member(i + 1, url) for i, url in enumerate(urls)]
        self.version = 0
        self._cached: tuple[int, ClusterView] | None = None
        hosts = ",".join(url.split("://", 1)[-1] for url in urls)    # as etcdctl takes them
        self.note = LIVE_NOTE.format(endpoints=hosts) if control else ETCD_NOTE
        self.world_frozen = False
        self.freeze_lock = threading.Lock()    # freezing, thawing, late freezes: one at a time
        self.hold_before_freeze = False
        self.freezing: set[int] = set()          # members being frozen after a restart
        self.first_seen: dict[int, int] = {}     # message id -> when it was first held
        self.gone: set[int] = set()              # delivered or dropped, still reported
        self.history: deque[MessageView] = deque(maxlen=HISTORY_KEPT)   # let go by hand
        self.compacted_at = 0                    # a real etcd does not report it
        self._round_robin = itertools.count()
        self.notifier = Notifier(self.stop)
        self.channels = Channels()
        self.requests = Requests(self.clock)
        self.links = EntryLinks(self.requests)   # requests' entries in the members' logs
        self.sender = Sender(self.channels, self.requests, self.links.tag)
        self.watches = Watches(self.requests, self.changed)
        self.keyspace = KeyspaceCache(self.channels, self.keyspace_target, self.changed,
                                      self.stop)
        self.slow = ThreadPoolExecutor(1, thread_name_prefix="membership")
        self.observers: list[ControlObserver] = []
        self.poller: EtcdPoller | None = None
        self._closed, self._close_lock = False, threading.Lock()
        self._begin()

    # -- opening --

    @classmethod
    def start(cls, nodes: int = 3, data_dir: str | None = None, heartbeat_ms: int = 100,
              election_ms: int = 1000) -> LiveBackend:
        """A fresh local cluster of `nodes` member processes, owned by the backend."""
        if not 1 <= nodes <= 7:
            raise LiveError("a live cluster has 1 to 7 members")
        try:
            cluster = LocalCluster(nodes, data_dir, heartbeat_ms, election_ms)
        except (ValueError, OSError) as exc:
            raise LiveError(error_line(exc)) from None
        try:
            cluster.start(LEADER_WAIT_S)
            backend = cls(cluster.client_urls(), control=True, cluster=cluster)
        except BaseException as exc:
            cluster.stop()
            if isinstance(exc, (RuntimeError, OSError, ValueError)):
                raise LiveError(f"the cluster did not start: {error_line(exc)}") from None
            raise
        try:
            backend.wait_for(lambda v: v.leader() is not None and all(
                n.up and n.voter for n in v.nodes), 5.0)
        except TimeoutError:
            pass     # it has a leader by Status; the views will catch up and show it
        return backend

    @classmethod
    def attach(cls, endpoints: list[str] | str) -> LiveBackend:
        """Watch running members: fully through their control service if they serve it
        (`raftviz up`), else read-only through etcd's API."""
        if isinstance(endpoints, str):
            endpoints = endpoints.split(",")
        urls = [normalize(e) for e in endpoints if e.strip()]
        if not urls:
            raise LiveError("no endpoints given; e.g. 127.0.0.1:2379,127.0.0.1:22379")
        kinds = {url: probe(url) for url in urls}
        answering = [url for url, kind in kinds.items() if kind != "none"]
        if not answering:
            raise LiveError(f"no endpoint answers: {', '.join(urls)}")
        members = member_urls(answering) or urls
        return cls(members, control="control" in kinds.values())

    def _begin(self) -> None:
        self.notifier.start()
        self.keyspace.start()
        if self.control:
            for member in self.members:
                self._observe(member)
        else:
            self.poller = EtcdPoller([m.url for m in self.members], self._on_etcd_members,
                                     self._on_etcd_status, self.stop)
            self.poller.start()

    def _observe(self, member: Member) -> None:
        observer = ControlObserver(member, self._on_snapshot, self._on_lost, self.stop)
        self.observers.append(observer)
        observer.start()

    # -- what the observer threads report --

    def clock(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def changed(self) -> None:
        with self._lock:
            self.version += 1
        self.notifier.poke()

    def _on_snapshot(self, member: Member, snap: dict) -> None:
        if self.stop.is_set():
            return
        with self._lock:
            old = member.snapshot
            member.snapshot, member.answering = snap, True
            member.raft_id, member.name = int(snap.get("id", 0)), str(snap.get("name", ""))
            self._track_held(member)
            self._discover(snap.get("members") or {})
            self._mark_removed()
            # The stages this report shows change with its log, as one: a view takes
            # both or neither (see view()).
            self.links.observe(member.number, snap, self.clock())
        traced = self.links.by_entry()
        with self._lock:
            self.traffic.take(member.number, snap.get("traffic") or {}, self.number_of, traced)
        if old.get("revision") != snap.get("revision") or old.get("lead") != snap.get("lead"):
            self.keyspace.poke()
        if self.world_frozen and not snap.get("paused") and member.number not in self.freezing:
            self.freezing.add(member.number)
            try:
                self.slow.submit(self._freeze_late, member)
            except RuntimeError:
                pass     # closing: nothing is frozen any more
        self.changed()

    def _freeze_late(self, member: Member) -> None:
        """A member that (re)started while the world is frozen joins the freeze."""
        try:
            with self.freeze_lock:
                if self.world_frozen:
                    self.command(member, "pause")
                    self.command(member, "hold", on=True)
        except CommandRefused:
            pass
        finally:
            self.freezing.discard(member.number)

    def _on_lost(self, member: Member) -> None:
        with self._lock:
            was, member.answering = member.answering, False
        if was:
            self.changed()

    def _on_etcd_members(self, members: list) -> None:
        with self._lock:
            self._discover({str(m.ID): {"name": m.name, "client_urls": list(m.clientURLs)}
                            for m in members})
            self._mark_removed()

    def _on_etcd_status(self, url: str, snap: dict | None) -> None:
        with self._lock:
            member = next((m for m in self.members if m.url == url), None)
            if member is None or (snap is None and not member.answering) or \
                    (snap is not None and snap == member.snapshot):
                return
            if snap is not None:
                member.snapshot, member.raft_id = snap, int(snap["id"])
            member.answering = snap is not None
        self.keyspace.poke()
        self.changed()

    def _track_held(self, member: Member) -> None:
        """Remember when each held message was first seen; forget what left the gate."""
        span, now = live_views.MESSAGE_ID_SPAN, self.clock()
        held = {member.number * span + int(h["id"]) for h in member.snapshot.get("held", ())}
        mine = {i for i in self.first_seen if i // span == member.number}
        for msg_id in mine - held:
            del self.first_seen[msg_id]
        for msg_id in held - mine:
            self.first_seen[msg_id] = now
        self.gone -= {i for i in self.gone if i // span == member.number and i not in held}

    def _discover(self, listed: dict) -> None:
        """Members named in a member list that we did not know yet get a number (and,
        with the control service, an observer)."""
        for raft_id, info in listed.items():
            urls = list(info.get("client_urls") or ())
            known = self.by_raft_id(int(raft_id)) or next(
                (m for m in self.members if urls and m.url in urls), None)
            if known is not None:
                known.raft_id = known.raft_id or int(raft_id)
                known.name = known.name or str(info.get("name", ""))
                continue
            if urls:
                member = Member(len(self.members) + 1, urls[0], str(info.get("name", "")),
                                int(raft_id))
                self.members.append(member)
                if self.control:
                    self._observe(member)     # a real etcd's poller follows the list

    def _mark_removed(self) -> None:
        leader = self._leader_snapshot()
        if leader is None or not leader.get("members"):
            return
        listed = {int(i) for i in leader["members"]}
        for member in self.members:
            member.removed = bool(member.raft_id) and member.raft_id not in listed

    def _leader_snapshot(self) -> dict | None:
        leaders = [m.snapshot for m in self.members
                   if self.is_up(m) and m.snapshot.get("role") == "leader"]
        return max(leaders, key=lambda s: s.get("term", 0)) if leaders else None

    # -- members --

    def by_raft_id(self, raft_id: int) -> Member | None:
        return next((m for m in self.members if raft_id and m.raft_id == raft_id), None)

    def number_of(self, raft_id: int) -> int:
        member = self.by_raft_id(raft_id)
        return member.number if member else 0

    def is_up(self, member: Member) -> bool:
        if self.cluster is not None and self.cluster.owns(member.number) and \
                not self.cluster.running(member.number):
            return False
        return member.answering and not member.removed

    def member(self, number: int) -> Member:
        with self._lock:
            found = next((m for m in self.members if m.number == number), None)
        if found is None:
            raise CommandRefused(f"There is no node {number}.")
        return found

    def up_member(self, number: int) -> Member:
        member = self.member(number)
        if member.removed:
            raise CommandRefused(f"Node {number} was removed from the cluster.")
        if not self.is_up(member):
            raise CommandRefused(f"Node {number} is down.")
        return member

    def leader(self) -> Member | None:
        with self._lock:
            snap = self._leader_snapshot()
            return self.by_raft_id(int(snap["id"])) if snap else None

    def need_leader(self) -> Member:
        leader = self.leader()
        if leader is None:
            raise CommandRefused("There is no leader right now; wait for an election.")
        return leader

    def command(self, member: Member, op: str, **args) -> str:
        """One control-service command on `member`; its own sentence, or a refusal."""
        client = ControlClient(member.url)    # a fresh channel: the member may be new
        try:
            reply = client.command(op, timeout=COMMAND_TIMEOUT_S, **args)
        except grpc.RpcError:
            raise CommandRefused(f"Node {member.number} does not answer.") from None
        finally:
            client.close()
        if not reply.get("ok"):
            raise CommandRefused(f"Node {member.number}: {reply.get('message', 'refused')}.")
        return str(reply.get("message", ""))

    def in_background(self, what: str, work: Callable[[], str]) -> None:
        """Run a slow cluster change off the interface's thread; its outcome becomes the
        note of a later view."""
        def run() -> None:
            try:
                self.note = work()
            except grpc.RpcError as exc:
                self.note = f"{what} failed: {exc.details() or exc.code().name}."
            except (CommandRefused, OSError, ValueError) as exc:
                self.note = f"{what} failed: {exc}"
            self.changed()
        if self.stop.is_set():
            raise CommandRefused("The interface is closing.")
        self.slow.submit(run)

    # -- the Backend protocol --

    @property
    def capabilities(self) -> frozenset[Cap]:
        if not self.control:
            return ETCD_CAPS
        return CONTROL_CAPS | {Cap.MANUAL_CLOCK} if self.world_frozen else CONTROL_CAPS

    def view(self) -> ClusterView:
        with self._lock:
            if self._cached is not None and self._cached[0] == self.version:
                return self._cached[1]
            version, members = self.version, [(m, dict(m.snapshot)) for m in self.members]
            ups = {m.number: self.is_up(m) for m in self.members}
            # With the logs, the requests as those logs left them: read later, a request
            # could say a member appended its entry while that member's log, taken
            # before its report came, did not show it yet.
            requests = self.requests.views()
        view = self._build(members, ups, requests)
        with self._lock:
            self._cached = (version, view)
        return view

    def _build(self, members: list[tuple[Member, dict]], ups: dict[int, bool],
               requests: tuple[o.RequestTrace, ...]) -> ClusterView:
        ids = self.number_of
        nodes = tuple(
            live_views.node_view(m.number, snap, ids, up=ups[m.number], paused=m.stopped,
                                 removed=m.removed, client_url=m.url) if snap else
            live_views.unknown_node(m.number, m.removed, m.url) for m, snap in members)
        logs = tuple(live_views.log_view(m.number, snap, self.links.shown)
                     for m, snap in members)
        target = self.keyspace_target()
        keys = self.keyspace.keys
        theirs = self._client_watches(members, ups)
        if theirs:
            requests = live_views.with_client_watch_events(requests, theirs)
        return ClusterView(
            time=self.clock(), event=self.version, last_event=self.version, clock="live",
            nodes=nodes, logs=logs, messages=self._held(members), history=self._history(),
            network=live_views.network_view([s for m, s in members if ups[m.number]], ids),
            keyspace=keys.shown, key_count=keys.count,
            keyspace_node=target.node if target else 0,
            revision=keys.revision_for(target) if target else 0,
            compact_revision=target.compact_revision if target else 0,
            watches=self.watches.views() + theirs, leases=self.keyspace.leases,
            requests=requests, capabilities=self.capabilities, note=self.note,
            paused=self.world_frozen,
            unlisted_watches=sum(live_views.unlisted_watches(snap)
                                 for m, snap in members if ups[m.number]),
            unshown_messages=self.traffic.missed)

    def _client_watches(self, members: list[tuple[Member, dict]],
                        ups: dict[int, bool]) -> tuple[o.WatchView, ...]:
        """Watchers other clients opened, each with the events it was sent (from the
        mirror's recent changes: members report only where each stands)."""
        theirs = [w for m, snap in members if ups[m.number]
                  for w in live_views.client_watches(m.number, snap)]
        if not theirs:
            return ()
        changes = self.keyspace.mirror.recent_changes()
        return tuple(live_views.sent_events(w, changes) for w in theirs)

    def _history(self) -> tuple[MessageView, ...]:
        """Held messages delivered or dropped, and the members' own traffic, oldest first."""
        with self._lock:
            let_go, sent = tuple(self.history), self.traffic.messages()
        if not let_go:
            return sent
        return tuple(sorted(let_go + sent, key=lambda m: (m.sent_at, m.id)))

    def _held(self, members: list[tuple[Member, dict]]) -> tuple[MessageView, ...]:
        traced = self.links.by_entry()
        held = [v for m, snap in members if self.is_up(m)
                for v in live_views.held_messages(m.number, snap, self.number_of,
                                                  self.first_seen, traced)
                if v.id not in self.gone]
        return tuple(sorted(held, key=lambda v: (v.sent_at, v.id)))

    def keyspace_target(self) -> Target | None:
        """Whose keyspace to show: the leader's, else the running member that applied
        the most."""
        with self._lock:
            up = [m for m in self.members if self.is_up(m) and m.snapshot]
            if not up:
                return None
            leader = self.leader()
            shown = leader if leader in up else max(
                up, key=lambda m: m.snapshot.get("applied", 0))
            snap = shown.snapshot
            compact = int(snap.get("compact_revision", 0)) or self.compacted_at
            return Target(shown.number, shown.url, int(snap.get("revision", 0)), compact,
                          leader.url if leader is not None else None)

    def execute(self, command: o.Command) -> str:
        text = live_commands.execute(self, command)
        self.note = text
        self.changed()
        return text

    def client(self, line: str, node: int = 0) -> ClientResult:
        try:
            line, at = split_endpoint(line)
            op = parse_client_line(line)
        except ClientError as exc:
            raise CommandRefused(str(exc)) from None
        member = self._choose(at or node)
        trace = self.requests.start(line, member.number, path_of(op))
        if op.kind == "watch":
            self._watch(trace.id, member, op)
        elif op.kind == "unwatch":
            ok = self.watches.cancel(op.number)
            self.requests.finish(trace.id, f"watch {op.number} canceled" if ok else
                                 f"Error: no open watch {op.number}", ok)
        else:
            leader = self.leader()
            self.sender.send(trace, op, member.url, leader.url if leader else None,
                             self._request_done)
        self.changed()
        done = self.requests.get(trace.id) or trace
        return ClientResult(trace.id, member.number, done.status, done.answer)

    def _choose(self, node: int) -> Member:
        if node:
            return self.up_member(node)
        with self._lock:
            up = [m for m in self.members if self.is_up(m)]
        if not up:
            raise CommandRefused("Every node is down: there is nobody to talk to.")
        return up[next(self._round_robin) % len(up)]

    def _watch(self, request_id: str, member: Member, op) -> None:
        spec = op.watch
        watch = self.watches.open(self.channels.get(member.url), member.number, spec)
        start = f" from revision {spec.start_revision}" if spec.start_revision else ""
        self.requests.finish(request_id, f"watch {watch.id} on node {member.number}: "
                             f"{describe_span(spec.key, spec.range_end)}{start}")

    def _request_done(self, request_id: str) -> None:
        trace = self.requests.get(request_id)
        if trace is not None and trace.revision and trace.path == "log":
            self.requests.add_watch_events(request_id,
                                           self.watches.link(trace.revision, request_id))
        self.keyspace.poke()
        self.changed()

    def key_history(self, key: str) -> tuple[o.KeyRevision, ...]:
        target = self.keyspace_target()
        return self.keyspace.history(key, (target.revision, target.compact_revision)) \
            if target else ()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self.notifier.subscribe(callback)

    def show_keyspace(self, shown: bool) -> None:
        self.keyspace.show(shown)

    # -- waiting and closing --

    def wait_for(self, ready: Callable[[ClusterView], object], timeout: float) -> ClusterView:
        """The first view for which `ready` holds (change notices wake it); raises
        TimeoutError after `timeout` seconds."""
        woken = threading.Event()
        unsubscribe = self.subscribe(woken.set)
        deadline = time.monotonic() + timeout
        try:
            while True:
                view = self.view()
                if ready(view):
                    return view
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the cluster did not get there in {timeout:g}s")
                woken.wait(min(0.25, max(0.0, deadline - time.monotonic())))
                woken.clear()
        finally:
            unsubscribe()

    def close(self) -> None:
        """Stop every thread, stream and (for a cluster we started) every process. A
        second caller (the app's quit signal has its own thread) waits for the first."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self.stop.set()
            for observer in self.observers:
                observer.cancel()
            self.notifier.close()
            self.watches.close()
            self.channels.close()
            self.sender.close()
            self.slow.shutdown(wait=True, cancel_futures=True)
            for thread in [*self.observers, self.poller, self.keyspace, self.notifier]:
                if thread is not None and thread.is_alive():
                    thread.join(5.0)
            if self.cluster is not None:
                self.cluster.stop()
