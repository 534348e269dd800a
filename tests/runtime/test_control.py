"""The control service on live members: observe, partition the leader, hold and deliver."""

import functools
import threading

import grpc
import pytest
import trio

from engine.runtime.control import WATCHERS_SHOWN, ControlClient, observe
from engine.runtime.etcd_watch import OWN_CLIENT
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from engine.runtime.membership import Membership
from engine.runtime.node import run_member
from engine.runtime.server import ServerConfig
from raftviz.cmd_up import free_ports


async def start_cluster(nursery, tmp_path, n=3):
    peer, client = free_ports(n), free_ports(n)
    urls = {f"n{i + 1}": (f"http://127.0.0.1:{peer[i]}",) for i in range(n)}
    members = []
    for i in range(n):
        cfg = ServerConfig(name=f"n{i + 1}", data_dir=str(tmp_path / f"n{i + 1}"),
                           membership=Membership.initial(urls, "t"),
                           peer_listen=("127.0.0.1", peer[i]),
                           client_urls=(f"http://127.0.0.1:{client[i]}",),
                           heartbeat_ms=10, election_ms=100)
        member, _ = await nursery.start(functools.partial(
            run_member, cfg, [("127.0.0.1", client[i])], control=True))
        members.append(member)
    return members, [f"127.0.0.1:{p}" for p in client]


async def until(cond, timeout=10):
    with trio.fail_after(timeout):
        while not cond():
            await trio.sleep(0.01)


def leader(members):
    return next((m for m in members if m.role.value == "leader"), None)


@pytest.mark.trio
async def test_observe_and_partition_the_leader(tmp_path):
    async with trio.open_nursery() as n:
        members, urls = await start_cluster(n, tmp_path)
        await until(lambda: leader(members))
        old = leader(members)
        old_term = old.term
        i = members.index(old)
        client = ControlClient(urls[i])
        snap = await trio.to_thread.run_sync(lambda: next(iter(client.observe())))
        assert snap["role"] == "leader" and snap["id"] == old.id
        others = [m.id for m in members if m is not old]
        reply = await trio.to_thread.run_sync(lambda: client.command("cut", peers=others))
        assert reply["ok"], reply
        # The old leader cannot reach anyone: the others elect a new leader in a later term.
        await until(lambda: any(m.role.value == "leader" and m.term > old_term
                                for m in members if m is not old))
        reply = await trio.to_thread.run_sync(lambda: client.command("heal"))
        assert reply["ok"]
        await until(lambda: old.role.value == "follower" and old.lead != 0)
        client.close()
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_an_idle_members_report_changes_with_its_heartbeats_only_in_its_traffic(
        tmp_path):
    """Observe sends a report only when it changed: heartbeats change only its traffic
    (which worth_sending paces), or an idle cluster would keep every watcher redrawing
    20 times a second."""
    async with trio.open_nursery() as n:
        members, _ = await start_cluster(n, tmp_path)
        await until(lambda: leader(members))
        lead = leader(members)
        # The members publish their attributes through the log after the election: once
        # that settles, ten heartbeats in a row leave the report as it was.
        for _ in range(20):
            before, sent = idle_report(lead), lead.transport.stats["sent"]
            await until(lambda: lead.transport.stats["sent"] >= sent + 10)
            if idle_report(lead) == before:
                break
        else:
            pytest.fail("every ten heartbeats changed the leader's report")
        n.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_member_lists_its_first_clients_watchers_and_counts_them_all(tmp_path):
    """Observe lists the first WATCHERS_SHOWN watchers clients opened (who each is comes
    from its call), counts every one, and leaves out those a raftviz interface opens for
    itself, which say so in their metadata."""
    async with trio.open_nursery() as n:
        members, urls = await start_cluster(n, tmp_path, 1)
        await until(lambda: leader(members))
        member, opened = members[0], threading.Event()

        def creating(key: bytes):
            filters = [rpc_pb2.WatchCreateRequest.NOPUT] if key == b"k0" else []
            yield rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
                key=key, filters=filters))
            opened.wait()

        channel = grpc.insecure_channel(urls[0])
        stub = rpc_pb2_grpc.WatchStub(channel)
        calls = [stub.Watch(creating(b"k0"))]     # the first, so it is listed
        await until(lambda: len(member.watch_origins) == 1)
        calls += [stub.Watch(creating(b"k%d" % i)) for i in range(1, WATCHERS_SHOWN + 2)]
        calls.append(stub.Watch(creating(b"mirror"), metadata=((OWN_CLIENT, "mirror"),)))
        try:
            await until(lambda: len(member.watch_origins) == WATCHERS_SHOWN + 3)
            report = observe(member)
        finally:
            opened.set()
            for call in calls:
                call.cancel()
            channel.close()
        assert report["watchers_total"] == WATCHERS_SHOWN + 2
        listed = [w["key"] for w in report["watchers"]]
        assert len(set(listed)) == WATCHERS_SHOWN and "mirror" not in listed
        assert all(w["client"].startswith("127.0.0.1:") and "grpc-python" in w["client"]
                   for w in report["watchers"])
        assert {w["key"]: w["filters"] for w in report["watchers"]}["k0"] == ["NOPUT"]
        assert all(not w["filters"] for w in report["watchers"] if w["key"] != "k0")
        n.cancel_scope.cancel()


def idle_report(member) -> dict:
    report = observe(member)
    report.pop("progress")     # recent_active follows check-quorum rounds: Raft's own news
    report.pop("traffic")
    return report


@pytest.mark.trio
async def test_hold_then_deliver_one_message(tmp_path):
    async with trio.open_nursery() as n:
        members, urls = await start_cluster(n, tmp_path)
        await until(lambda: leader(members))
        i = members.index(leader(members))
        client = ControlClient(urls[i])
        call = lambda *a, **k: trio.to_thread.run_sync(lambda: client.command(*a, **k))
        assert (await call("hold", on=True))["ok"]
        await until(lambda: len(members[i].gate.held) >= 2)
        first = min(members[i].gate.held)
        reply = await call("deliver", id=first)
        assert reply["ok"] and reply["message"].startswith("delivered")
        assert first not in members[i].gate.held
        bad = await call("deliver", id=10 ** 9)
        assert not bad["ok"] and "no held message" in bad["message"]
        unknown = await call("explode")
        assert not unknown["ok"] and "unknown control command" in unknown["message"]
        assert (await call("hold", on=False))["ok"]
        client.close()
        n.cancel_scope.cancel()


def test_log_entries_are_described_with_their_request_id():
    from engine.kv import PutRequest, encode_request
    from engine.raft import ConfChange, ConfChangeType, Entry, EntryType
    from engine.runtime.control import entry_view
    from engine.runtime.envelope import Kind, wrap

    put = Entry(2, 7, data=wrap(Kind.KV, 0xABC, encode_request(PutRequest(b"k", b"v"))))
    assert entry_view(put)["text"] == "put k=v" and entry_view(put)["request_id"] == "abc"
    conf = Entry(1, 1, EntryType.CONF_CHANGE,
                 ConfChange(ConfChangeType.ADD_LEARNER, 0x1F).encode())
    assert entry_view(conf)["text"] == "AddLearnerNode 1f"
    assert entry_view(Entry(3, 9))["text"] == "(new term)"
    assert entry_view(Entry(3, 10, data=b"\x09garbage"))["request_id"] is None


def test_a_long_request_is_described_in_a_log_cells_words_not_whole():
    """A busy member reports its 40-entry log tail 20 times a second: a 256-byte value
    described whole made 270 characters an entry, most of each report. An ASCII text is
    cut in ASCII: rich measures any text with a "…" in it ten times slower."""
    from engine.kv import PutRequest, encode_request
    from engine.raft import Entry
    from engine.runtime.control import ENTRY_TEXT_MAX, entry_view
    from engine.runtime.envelope import Kind, wrap

    put = Entry(2, 7, data=wrap(Kind.KV, 1, encode_request(PutRequest(b"k", b"x" * 256))))
    text = entry_view(put)["text"]
    assert len(text) == ENTRY_TEXT_MAX and text.startswith("put k=xxx")
    assert text.endswith("...") and text.isascii(), "a '…' is slow for rich to measure"
    fits = "put k=" + "x" * (ENTRY_TEXT_MAX - 6)
    assert entry_view(Entry(2, 8, data=wrap(Kind.KV, 1, encode_request(
        PutRequest(b"k", fits[6:].encode())))))["text"] == fits


def test_traced_entries_carry_the_clients_id_and_plain_ones_read_as_before():
    from engine.kv import PutRequest, encode_request
    from engine.raft import Entry
    from engine.runtime.control import entry_view
    from engine.runtime.envelope import Kind, unwrap, unwrap_traced, wrap

    payload = encode_request(PutRequest(b"k", b"v"))
    traced = wrap(Kind.KV, 0xABC, payload, "ui1/r4")
    assert unwrap_traced(traced) == (Kind.KV, 0xABC, "ui1/r4", payload)
    assert unwrap(traced) == (Kind.KV, 0xABC, payload)
    assert wrap(Kind.KV, 0xABC, payload, "") == wrap(Kind.KV, 0xABC, payload)
    view = entry_view(Entry(2, 8, data=traced))
    assert (view["text"], view["request_id"], view["trace"]) == ("put k=v", "abc", "ui1/r4")
    assert entry_view(Entry(2, 9, data=wrap(Kind.KV, 1, payload)))["trace"] is None
    with pytest.raises(ValueError):
        wrap(Kind.KV, 1, payload, "x" * 65)
    with pytest.raises(ValueError):
        unwrap_traced(traced[:11])          # the trace id is cut short


def test_an_entry_a_report_described_is_not_decoded_again_when_applied(monkeypatch):
    """Under load a member's reports describe most entries of its log tail before they
    are applied: the apply takes the request the report decoded (small payloads only)."""
    from engine.kv import PutRequest, encode_request
    from engine.raft import Entry
    from engine.runtime import envelope
    from engine.runtime.control import entry_view
    from engine.runtime.envelope import DECODED_MAX_BYTES, Kind, kv_request, unwrap, wrap

    decoded = []
    real_decode = envelope.decode_request
    monkeypatch.setattr(envelope, "decode_request",
                        lambda payload: decoded.append(payload) or real_decode(payload))
    small = encode_request(PutRequest(b"described-once", b"v"))
    assert entry_view(Entry(4, 21, data=wrap(Kind.KV, 0x21, small)))["text"] == \
        "put described-once=v"
    assert kv_request(unwrap(wrap(Kind.KV, 0x21, small))[2]) == PutRequest(b"described-once",
                                                                         b"v")
    assert decoded == [small]
    large = encode_request(PutRequest(b"large", b"v" * DECODED_MAX_BYTES))
    assert kv_request(large) == kv_request(large) and decoded[1:] == [large, large]


def test_only_a_short_printable_raftviz_request_value_is_taken():
    from engine.runtime.tracing import METADATA_KEY, trace_from_metadata, trace_metadata

    assert trace_from_metadata([("user-agent", "x"), (METADATA_KEY, "ui1/r2")]) == "ui1/r2"
    assert trace_from_metadata([("token", "r1")]) == ""
    assert trace_from_metadata(None) == ""
    for bad in ("", "two words", "é", "x" * 65, b"r1"):
        assert trace_from_metadata([(METADATA_KEY, bad)]) == ""
    assert trace_metadata("ui1/r2") == ((METADATA_KEY, "ui1/r2"),)
    assert trace_metadata("two words") == ()


def _log(member) -> list[dict]:
    from engine.runtime.control import observe
    return observe(member)["log"]


def _logged(member, trace) -> list[tuple[int, int]]:
    return [(e["index"], e["term"]) for e in _log(member) if e["trace"] == trace]


@pytest.mark.trio
async def test_request_metadata_reaches_every_members_entry_through_a_follower(tmp_path):
    import grpc

    from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
    from engine.runtime.tracing import METADATA_KEY

    async with trio.open_nursery() as n:
        members, urls = await start_cluster(n, tmp_path)
        await until(lambda: leader(members) and all(m.lead for m in members))
        follower = next(i for i, m in enumerate(members) if m is not leader(members))
        channel = grpc.insecure_channel(urls[follower])
        put = rpc_pb2_grpc.KVStub(channel).Put

        def send(key, metadata):
            return put(rpc_pb2.PutRequest(key=key, value=b"v"), metadata=metadata, timeout=5)

        r = await trio.to_thread.run_sync(send, b"traced", ((METADATA_KEY, "ui9/r1"),))
        assert r.header.revision > 1
        # Forwarded to the leader and replicated: the same entry, named, in every log.
        await until(lambda: all(len(_logged(m, "ui9/r1")) == 1 for m in members))
        assert len({_logged(m, "ui9/r1")[0] for m in members}) == 1
        # Without the metadata, or with a value it cannot take, a request is served as
        # before and its entry names no client id (the follower answers once it applied
        # them, so they are in its log).
        await trio.to_thread.run_sync(send, b"plain", ())
        await trio.to_thread.run_sync(send, b"odd", ((METADATA_KEY, "two words"),))
        traces = {e["text"]: e["trace"] for e in _log(members[follower])}
        assert traces["put traced=v"] == "ui9/r1"
        assert traces["put plain=v"] is None and traces["put odd=v"] is None
        channel.close()
        n.cancel_scope.cancel()


def test_each_applied_write_notes_the_revision_it_produced_and_no_other_entry_does():
    from engine.kv.errors import ErrorKind, KVError
    from engine.kv.types import PutResponse, ResponseHeader
    from engine.raft import Entry
    from engine.runtime.control import REVISIONS_KEPT, Revisions

    revisions = Revisions(revision=5)
    revisions.note(Entry(term=1, index=10), PutResponse(ResponseHeader(revision=6)))
    revisions.note(Entry(term=1, index=11), PutResponse(ResponseHeader(revision=6)))  # a read
    revisions.note(Entry(term=1, index=12), KVError(ErrorKind.LEASE_NOT_FOUND))
    assert revisions.by_index == {10: 6}
    for index in range(13, 13 + REVISIONS_KEPT):
        revisions.note(Entry(term=1, index=index), PutResponse(ResponseHeader(index)))
    assert len(revisions.by_index) == REVISIONS_KEPT and 10 not in revisions.by_index
    assert revisions.by_index[12 + REVISIONS_KEPT] == 12 + REVISIONS_KEPT

