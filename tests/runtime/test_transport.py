"""Peer transport over loopback TCP: delivery, batching, the fault gate, bad frames."""

import functools
import struct

import pytest
import trio

from engine.raft import Entry, Message, MessageType
from engine.runtime.faultgate import FaultGate
from engine.runtime.transport import (
    MEMBERS_QUERY, PeerTransport, fetch_membership, parse_host_port,
)
from engine.wire import WireError, decode_payload_frame


LOOPBACK = ("127.0.0.1", 0)


def app(frm, to, index=1):
    return Message(MessageType.APP, to=to, frm=frm, term=1, index=index,
                   entries=(Entry(1, index + 1, data=b"x" * 10),))


async def pair(nursery, inbox1, inbox2, gate1=None):
    t2 = PeerTransport(2, LOOPBACK, inbox2.append)
    port2 = await nursery.start(t2.run, {})
    t1 = PeerTransport(1, LOOPBACK, inbox1.append, gate=gate1)
    await nursery.start(t1.run, {2: ("127.0.0.1", port2)})
    t2.add_peer(1, ("127.0.0.1", t1.port))
    return t1, t2


async def wait_for(cond, timeout=5):
    with trio.fail_after(timeout):
        while not cond():
            await trio.sleep(0.005)


@pytest.mark.trio
async def test_messages_arrive_in_order_and_batch():
    got1, got2 = [], []
    async with trio.open_nursery() as n:
        t1, t2 = await pair(n, got1, got2)
        t1.send([app(1, 2, i) for i in range(1, 301)])
        await wait_for(lambda: len(got2) == 300)
        assert [m.index for m in got2] == list(range(1, 301))
        assert t1.stats["writes"] < 300      # several frames per write
        t2.send([Message(MessageType.APP_RESP, to=1, frm=2, term=1, index=5)])
        await wait_for(lambda: len(got1) == 1)
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_cut_link_drops_and_hold_waits_for_release():
    got1, got2 = [], []
    gate = FaultGate(1)
    async with trio.open_nursery() as n:
        t1, _ = await pair(n, got1, got2, gate1=gate)
        gate.set_cut({2})
        t1.send([app(1, 2)])
        gate.set_cut(set())
        gate.set_hold(True)
        t1.send([app(1, 2, 7), app(1, 2, 8)])
        await trio.sleep(0.05)
        assert got2 == [] and t1.stats["dropped"] == 1
        assert sorted(gate.held) == [1, 2]
        t1.enqueue(gate.release(2))
        await wait_for(lambda: len(got2) == 1)
        assert got2[0].index == 8
        gate.discard(1)
        assert gate.held == {}
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_malformed_frame_closes_only_that_connection():
    got1, got2 = [], []
    async with trio.open_nursery() as n:
        t1, t2 = await pair(n, got1, got2)
        bad = await trio.open_tcp_stream("127.0.0.1", t2.port)
        await bad.send_all(struct.pack(">BI", 9, 4) + b"abcd" + b"\0\0\0\0")
        await wait_for(lambda: t2.stats["bad_frames"] == 1)
        with pytest.raises((trio.BrokenResourceError, trio.ClosedResourceError)):
            with trio.fail_after(5):
                while True:   # the node closed our connection; writes start failing
                    await bad.send_all(b"\0" * 65536)
        t1.send([app(1, 2)])                       # the real peer is unaffected
        await wait_for(lambda: len(got2) == 1)
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_oversized_frame_is_refused_from_its_header():
    got = []
    async with trio.open_nursery() as n:
        t = PeerTransport(2, LOOPBACK, got.append, max_frame_size=1024)
        port = await n.start(t.run, {})
        s = await trio.open_tcp_stream("127.0.0.1", port)
        await s.send_all(struct.pack(">BI", 1, 10_000_000))
        await wait_for(lambda: t.stats["bad_frames"] == 1)
        assert got == []
        n.cancel_scope.cancel()


async def run_cancellable(nursery, transport, peers):
    """Start a transport in its own cancel scope; returns (scope, port)."""
    scope = trio.CancelScope()

    async def life(task_status=trio.TASK_STATUS_IGNORED):
        with scope:
            await transport.run(peers, task_status=task_status)

    port = await nursery.start(life)
    return scope, port


@pytest.mark.trio
async def test_reconnects_after_peer_restarts():
    got2 = []
    unreachable = []
    async with trio.open_nursery() as n:
        first = PeerTransport(2, LOOPBACK, got2.append)
        scope, port2 = await run_cancellable(n, first, {})
        t1 = PeerTransport(1, LOOPBACK, lambda m: None, unreachable=unreachable.append)
        await n.start(t1.run, {2: ("127.0.0.1", port2)})
        t1.send([app(1, 2)])
        await wait_for(lambda: len(got2) == 1)
        scope.cancel()                                    # node 2 goes away
        await trio.sleep(0.05)
        second = PeerTransport(2, ("127.0.0.1", port2), got2.append)
        await run_cancellable(n, second, {})               # node 2 is back on its port
        with trio.fail_after(10):
            while len(got2) < 2:
                t1.send([app(1, 2, 3)])
                await trio.sleep(0.05)
        assert got2[-1].index == 3
        assert set(unreachable) == {2}      # the broken link was reported to Raft
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_membership_query_is_answered_beside_raft_traffic():
    got1, got2 = [], []
    async with trio.open_nursery() as n:
        t1, t2 = await pair(n, got1, got2)
        t2.members = lambda: b'{"members": "blob"}'
        assert await fetch_membership(("127.0.0.1", t2.port)) == b'{"members": "blob"}'
        # A query cut across two writes is still one query.
        s = await trio.open_tcp_stream("127.0.0.1", t2.port)
        await s.send_all(MEMBERS_QUERY[:3])
        await trio.sleep(0.01)
        await s.send_all(MEMBERS_QUERY[3:])
        answer = b""
        with trio.fail_after(5):
            while chunk := await s.receive_some(4096):
                answer += chunk
        assert decode_payload_frame(answer) == b'{"members": "blob"}'
        t1.send([app(1, 2)])                       # Raft traffic is unaffected
        await wait_for(lambda: len(got2) == 1)
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_bad_membership_query_closes_that_connection_unanswered():
    async with trio.open_nursery() as n:
        t = PeerTransport(2, LOOPBACK, lambda m: None, members=lambda: b"secret")
        port = await n.start(t.run, {})
        s = await trio.open_tcp_stream("127.0.0.1", port)
        await s.send_all(b"?membership please\n")
        with trio.fail_after(5):
            assert await s.receive_some(4096) == b""       # closed, nothing said
        assert t.stats["bad_frames"] == 1
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_fetching_from_something_that_is_not_a_member_fails_clearly():
    async def silent(stream):
        await stream.receive_some(64)      # reads the query, answers nothing

    async with trio.open_nursery() as n:
        listeners = await n.start(functools.partial(trio.serve_tcp, silent, 0,
                                                    host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        with pytest.raises(WireError, match="truncated frame"):
            await fetch_membership(("127.0.0.1", port))
        n.cancel_scope.cancel()


def test_parse_host_port():
    assert parse_host_port("http://127.0.0.1:2380") == ("127.0.0.1", 2380)
    assert parse_host_port("[::1]:5") == ("::1", 5)
    for bad in ("nohost", "h:x", "h:99999", ":80"):
        with pytest.raises(ValueError):
            parse_host_port(bad)
