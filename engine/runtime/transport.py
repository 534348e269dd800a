"""Peer transport: Raft messages between nodes over TCP, through the fault gate.

Each node listens on its peer address and keeps one outgoing connection per peer. Outgoing
messages pass the FaultGate, then wait in a bounded per-peer queue; the sender task for that
peer writes everything queued in one `send_all` (several frames per write under load) and
reconnects with exponential backoff when the link breaks. Incoming bytes go through an
incremental FrameDecoder; a malformed or oversized frame closes that connection with a
logged reason and never reaches the node.

A connection may instead open with MEMBERS_QUERY: it asks for the cluster's membership
(etcd's /members on the peer port), answered with one frame and closed. A member joining
an existing cluster learns its own id that way (join.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import trio

from engine.raft import Message
from engine.wire import (
    DEFAULT_MAX_FRAME_SIZE, FRAME_OVERHEAD, EncodeError, FrameDecoder, WireError,
    decode_payload_frame, encode_frame, encode_payload_frame,
)

from .faultgate import FaultGate
from .traffic import Traffic

log = logging.getLogger("raftviz.transport")

QUEUE_FRAMES = 4096          # frames waiting per peer before new ones are dropped
BACKOFF_MIN, BACKOFF_MAX = 0.05, 0.5
MEMBERS_QUERY = b"?members\n"   # never the first byte of a frame (the wire version)


@dataclass
class _Peer:
    node_id: int
    address: tuple[str, int]
    send: trio.MemorySendChannel
    receive: trio.MemoryReceiveChannel
    cancel: trio.CancelScope
    connected: bool = False


class PeerTransport:
    def __init__(self, node_id: int, listen: tuple[str, int],
                 deliver: Callable[[Message], None], gate: FaultGate | None = None,
                 traffic: Traffic | None = None,
                 unreachable: Callable[[int], None] = lambda peer: None,
                 max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
                 ssl_server=None, ssl_client=None,
                 members: Callable[[], bytes] = lambda: b"") -> None:
        self.node_id = node_id
        self.members = members
        self.listen = listen
        self.deliver = deliver
        self.gate = gate or FaultGate(node_id)
        self.traffic = traffic or Traffic()
        self.unreachable = unreachable
        self.max_frame_size = max_frame_size
        self.ssl_server, self.ssl_client = ssl_server, ssl_client
        self.peers: dict[int, _Peer] = {}
        self.port = 0
        self.stats = {"sent": 0, "received": 0, "dropped": 0, "bad_frames": 0, "writes": 0}
        self._nursery: trio.Nursery | None = None

    # -- lifecycle --

    async def run(self, peers: dict[int, tuple[str, int]], *,
                  task_status=trio.TASK_STATUS_IGNORED) -> None:
        host, port = self.listen
        try:
            listeners = await trio.open_tcp_listeners(port, host=host)
        except OSError as e:
            raise OSError(f"cannot listen for peers on {host}:{port}: {e.strerror}") from None
        self.port = listeners[0].socket.getsockname()[1]
        if self.ssl_server is not None:
            listeners = [trio.SSLListener(l, self.ssl_server) for l in listeners]
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(trio.serve_listeners, self._serve_conn, listeners)
            for peer_id, address in peers.items():
                self.add_peer(peer_id, address)
            task_status.started(self.port)

    def add_peer(self, peer_id: int, address: tuple[str, int]) -> None:
        if peer_id == self.node_id or peer_id in self.peers:
            return
        assert self._nursery is not None, "transport is not running"
        send, receive = trio.open_memory_channel(QUEUE_FRAMES)
        peer = _Peer(peer_id, address, send, receive, trio.CancelScope())
        self.peers[peer_id] = peer
        self._nursery.start_soon(self._sender, peer)

    def remove_peer(self, peer_id: int) -> None:
        peer = self.peers.pop(peer_id, None)
        if peer is not None:
            peer.cancel.cancel()

    # -- sending --

    def send(self, messages: list[Message]) -> None:
        for m in messages:
            verdict = self.gate.route(m)
            if verdict.action == "send":
                self.traffic.note(m)
                if verdict.delay > 0 and self._nursery is not None:
                    self._nursery.start_soon(self._send_later, m, verdict.delay)
                else:
                    self.enqueue(m)
            elif verdict.action == "drop":
                self.traffic.note(m, verdict.reason)
                self.stats["dropped"] += 1

    async def _send_later(self, m: Message, delay: float) -> None:
        await trio.sleep(delay)
        self.enqueue(m)

    def enqueue(self, m: Message) -> None:
        """Queue one message for its peer, bypassing the gate (used to release held ones)."""
        peer = self.peers.get(m.to)
        if peer is None:
            self.stats["dropped"] += 1
            return
        try:
            frame = encode_frame(m, self.max_frame_size)
        except EncodeError as e:
            log.warning("node %d: not sending %s to %d: %s", self.node_id, m.type.value, m.to, e)
            self.stats["dropped"] += 1
            return
        try:
            peer.send.send_nowait(frame)
        except trio.WouldBlock:
            # The peer is slow or gone: Raft recovers from lost messages, memory does not
            # recover from an unbounded queue.
            self.stats["dropped"] += 1
            self.unreachable(m.to)

    async def _sender(self, peer: _Peer) -> None:
        backoff = BACKOFF_MIN
        with peer.cancel:
            while True:
                try:
                    stream = await self._connect(peer.address)
                except OSError:
                    peer.connected = False
                    self._flush(peer)   # stale messages are worse than none
                    self.unreachable(peer.node_id)
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                backoff = BACKOFF_MIN
                peer.connected = True
                await self._pump(peer, stream)
                peer.connected = False

    async def _connect(self, address: tuple[str, int]) -> trio.abc.Stream:
        stream = await trio.open_tcp_stream(*address)
        if self.ssl_client is not None:
            stream = trio.SSLStream(stream, self.ssl_client, server_hostname=address[0])
            await stream.do_handshake()
        return stream

    async def _pump(self, peer: _Peer, stream: trio.abc.Stream) -> None:
        async with stream:
            try:
                while True:
                    frames = [await peer.receive.receive()]
                    while True:
                        try:
                            frames.append(peer.receive.receive_nowait())
                        except trio.WouldBlock:
                            break
                    await stream.send_all(b"".join(frames))
                    self.stats["sent"] += len(frames)
                    self.stats["writes"] += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                self.unreachable(peer.node_id)

    @staticmethod
    def _flush(peer: _Peer) -> None:
        while True:
            try:
                peer.receive.receive_nowait()
            except trio.WouldBlock:
                return

    # -- receiving --

    async def _serve_conn(self, stream: trio.abc.Stream) -> None:
        decoder = FrameDecoder(self.max_frame_size)
        async with stream:
            try:
                first = True
                async for data in stream:
                    if first and data[:1] == MEMBERS_QUERY[:1]:
                        await self._answer_members_query(stream, data)
                        return
                    first = False
                    for m in decoder.feed(data):
                        self.stats["received"] += 1
                        self.deliver(m)
                decoder.close()
            except WireError as e:
                self.stats["bad_frames"] += 1
                log.warning("node %d: closing peer connection: %s", self.node_id, e)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass

    async def _answer_members_query(self, stream: trio.abc.Stream, data: bytes) -> None:
        while len(data) < len(MEMBERS_QUERY) and MEMBERS_QUERY.startswith(data):
            more = await stream.receive_some(len(MEMBERS_QUERY))
            if not more:
                return
            data += more
        if data != MEMBERS_QUERY:
            self.stats["bad_frames"] += 1
            log.warning("node %d: closing peer connection: bad membership query %r",
                        self.node_id, bytes(data[:32]))
            return
        await stream.send_all(encode_payload_frame(self.members(), self.max_frame_size))


async def fetch_membership(address: tuple[str, int], ssl_client=None,
                           max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """Ask the member listening on `address` for the cluster's membership (its encoded
    blob). Raises OSError when it cannot be reached, WireError on a bad answer."""
    stream: trio.abc.Stream = await trio.open_tcp_stream(*address)
    if ssl_client is not None:
        stream = trio.SSLStream(stream, ssl_client, server_hostname=address[0])
    async with stream:
        await stream.send_all(MEMBERS_QUERY)      # (over TLS: the handshake first)
        answer = bytearray()
        while chunk := await stream.receive_some(65536):
            answer += chunk
            if len(answer) > max_frame_size + FRAME_OVERHEAD:
                raise WireError(f"membership answer over {max_frame_size} bytes")
        return decode_payload_frame(bytes(answer), max_frame_size)


def parse_host_port(url: str) -> tuple[str, int]:
    """'http://127.0.0.1:2380' or '127.0.0.1:2380' -> ('127.0.0.1', 2380)."""
    rest = url.split("://", 1)[-1].rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"invalid address {url!r}: expected host:port")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"invalid port in {url!r}")
    return host.strip("[]"), number
