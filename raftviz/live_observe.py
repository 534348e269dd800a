"""Watching live members from background threads: the latest word from each, and change
notices that never wait for the interface.

`Member` is what the backend knows of one member (its number in the interface, client URL,
Raft id, latest snapshot, whether it answers). A `ControlObserver` thread per member reads
the control service's Observe stream and reconnects when the member comes back; an
`EtcdPoller` asks a real etcd for Status and MemberList a few times a second instead.
Both hand what they learn to a callback; `Notifier` turns the resulting flood of changes
into at most ~30 calls a second to the subscribers, on a thread of its own. `probe` and
`member_urls` find out, when attaching, what an endpoint is and who its peers are.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import grpc

from engine.runtime.control import ControlClient
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from engine.subscribers import Subscribers

from .live_views import etcd_snapshot

RECONNECT_S = 0.2          # a restarted member is seen again within this
POLL_S = 0.3               # how often a real etcd is asked how it is
CALL_TIMEOUT_S = 1.0
PROBE_TIMEOUT_S = 2.0
NOTIFY_HZ = 30


def target(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


@dataclass(eq=False)   # a member is itself, whatever it reports
class Member:
    number: int                      # 1..N, what the interface calls it
    url: str                         # client URL, where etcd's API and control answer
    name: str = ""
    raft_id: int = 0
    snapshot: dict = field(default_factory=dict)
    answering: bool = False          # its stream (or Status) answers right now
    stopped: bool = False            # frozen with SIGSTOP
    removed: bool = False


class ControlObserver(threading.Thread):
    """Reads one member's Observe stream for as long as the backend lives."""

    def __init__(self, member: Member, on_snapshot: Callable[[Member, dict], None],
                 on_lost: Callable[[Member], None], stop: threading.Event) -> None:
        super().__init__(name=f"observe-{member.number}", daemon=True)
        self.member, self.on_snapshot, self.on_lost, self.stop = member, on_snapshot, on_lost, stop
        self._call = None
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            self._read_stream()
            self.on_lost(self.member)
            self.stop.wait(RECONNECT_S)

    def _read_stream(self) -> None:
        # A fresh channel each time: a restarted member is dialled at once, without the
        # growing reconnect backoff an old channel would apply.
        client = ControlClient(self.member.url)
        try:
            with self._lock:
                if self.stop.is_set():
                    return
                self._call = client.observe()
            for snap in self._call:
                self.on_snapshot(self.member, snap)
        except grpc.RpcError:
            pass
        finally:
            with self._lock:
                self._call = None
            client.close()

    def cancel(self) -> None:
        with self._lock:
            if self._call is not None:
                self._call.cancel()


class EtcdPoller(threading.Thread):
    """Asks every known member of a real etcd for its Status, and one of them for the
    member list; whatever answers becomes a snapshot."""

    def __init__(self, urls: list[str], on_members: Callable[[list], None],
                 on_snapshot: Callable[[str, dict | None], None],
                 stop: threading.Event) -> None:
        super().__init__(name="etcd-poller", daemon=True)
        self.urls, self.on_members, self.on_snapshot, self.stop = list(urls), on_members, \
            on_snapshot, stop
        self.channels: dict[str, grpc.Channel] = {}

    def channel(self, url: str) -> grpc.Channel:
        if url not in self.channels:
            self.channels[url] = grpc.insecure_channel(target(url))
        return self.channels[url]

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.poll_once()
                self.stop.wait(POLL_S)
        finally:
            for channel in self.channels.values():
                channel.close()

    def poll_once(self) -> None:
        members = self._member_list()
        if members is not None:
            self.on_members(members)
            self.urls = [m.clientURLs[0] for m in members if m.clientURLs] or self.urls
        for url in self.urls:
            status = self._status(url)
            self.on_snapshot(url, etcd_snapshot(status, members or []) if status else None)

    def _member_list(self):
        for url in self.urls:
            try:
                return list(rpc_pb2_grpc.ClusterStub(self.channel(url)).MemberList(
                    rpc_pb2.MemberListRequest(), timeout=CALL_TIMEOUT_S).members)
            except grpc.RpcError:
                continue
        return None

    def _status(self, url: str):
        try:
            return rpc_pb2_grpc.MaintenanceStub(self.channel(url)).Status(
                rpc_pb2.StatusRequest(), timeout=CALL_TIMEOUT_S)
        except grpc.RpcError:
            return None


class Notifier(threading.Thread):
    """Calls subscribers after changes, at most NOTIFY_HZ times a second. `poke()` only
    sets a flag, so observer threads never wait for a subscriber."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(name="notifier", daemon=True)
        self.stop = stop
        self.changed = threading.Event()
        self.subscribers = Subscribers()

    def poke(self) -> None:
        self.changed.set()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self.subscribers.subscribe(callback)

    def run(self) -> None:
        while not self.stop.is_set():
            self.changed.wait(0.5)
            if not self.changed.is_set() or self.stop.is_set():
                continue
            self.changed.clear()
            for callback in self.subscribers:
                try:
                    callback()
                except Exception:   # noqa: BLE001 - one bad subscriber must not stop the rest
                    pass
            time.sleep(1 / NOTIFY_HZ)

    def close(self) -> None:
        self.changed.set()


# --- finding out what answers -----------------------------------------------------------


def member_urls(urls: list[str]) -> list[str]:
    """Every member's client URL, as the cluster itself lists them (by name), so each
    member is known under the one URL it advertises; [] if no endpoint answers."""
    for url in urls:
        channel = grpc.insecure_channel(target(url))
        try:
            members = rpc_pb2_grpc.ClusterStub(channel).MemberList(
                rpc_pb2.MemberListRequest(), timeout=PROBE_TIMEOUT_S).members
        except grpc.RpcError:
            continue
        finally:
            channel.close()
        return [m.clientURLs[0] for m in sorted(members, key=lambda m: (m.name, m.ID))
                if m.clientURLs]
    return []


def probe(url: str) -> str:
    """"control" if the member serves raftviz's control service, "etcd" if it answers
    only etcd's API, "none" if nothing answers."""
    client = ControlClient(url)
    try:
        client.command("", timeout=PROBE_TIMEOUT_S)   # an empty op asks nothing
        return "control"
    except grpc.RpcError as exc:
        return "etcd" if exc.code() is grpc.StatusCode.UNIMPLEMENTED else "none"
    finally:
        client.close()
