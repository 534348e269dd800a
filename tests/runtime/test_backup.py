"""Snapshot files and `raftviz snapshot save | status | restore`: the SHA-256 trailer,
saving a stream from a real gRPC Maintenance service, status output, and restoring data
dirs that live members start from and serve the restored keyspace."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
from concurrent import futures

import grpc
import pytest
import trio

from engine.kv import KVStore, PutRequest, RangeRequest
from engine.raft.types import ConfState
from engine.runtime.backend import Backend, backend_path
from engine.runtime.backup import (
    BackupError, save_stream, snapshot_db_bytes, snapshot_status,
)
from engine.runtime.disk import DiskStorage
from engine.runtime.membership import Membership
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from raftviz import cmd_snapshot
from tests.runtime.live_cluster import LiveCluster, free_ports
from tests.runtime.test_backend import ENTRIES, loaded_state, run_host

CHUNK = 4096


def make_stream(tmp_path) -> tuple[bytes, KVStore]:
    path = str(tmp_path / "source.db")
    kv = run_host(path, ENTRIES, batch=50)
    backend = Backend.open(path)
    stream = backend.snapshot_stream()
    backend.close()
    return stream, kv


@pytest.fixture(scope="module")
def stream_and_kv(tmp_path_factory):
    return make_stream(tmp_path_factory.mktemp("source"))


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="raftviz")
    cmd_snapshot.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["snapshot", *argv])
    return args.run(args)


# --- the trailer -----------------------------------------------------------------------------

def test_trailer_rules(stream_and_kv):
    stream, _ = stream_and_kv
    db = stream[:-32]
    assert snapshot_db_bytes(stream, "f") == db
    damaged = stream[:100] + bytes([stream[100] ^ 1]) + stream[101:]
    with pytest.raises(BackupError, match="f: snapshot checksum mismatch"):
        snapshot_db_bytes(damaged, "f")
    with pytest.raises(BackupError, match="missing hash but --skip-hash-check=false"):
        snapshot_db_bytes(db, "f")
    assert snapshot_db_bytes(db, "f", skip_hash_check=True) == db
    with pytest.raises(BackupError, match="not a raftviz backend snapshot"):
        snapshot_db_bytes(bytes(4096), "f", skip_hash_check=True)


def test_save_stream_checks_before_renaming(tmp_path, stream_and_kv):
    stream, _ = stream_and_kv
    dest = str(tmp_path / "snap.db")
    chunks = [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]
    assert save_stream(iter(chunks), dest) == len(stream)
    assert open(dest, "rb").read() == stream
    bad = stream[:-1] + bytes([stream[-1] ^ 0x80])
    with pytest.raises(BackupError, match="fails its SHA-256 check"):
        save_stream([bad], str(tmp_path / "bad.db"))

    def broken():
        yield stream[:CHUNK]
        raise ConnectionError("stream cut")

    with pytest.raises(ConnectionError):
        save_stream(broken(), str(tmp_path / "cut.db"))
    assert sorted(os.listdir(tmp_path)) == ["snap.db"]


def test_status_sums_up_the_file(tmp_path, stream_and_kv, capsys):
    stream, kv = stream_and_kv
    path = tmp_path / "snap.db"
    path.write_bytes(stream)
    st = snapshot_status(str(path))
    assert (st.hash, st.revision) == (kv.hash_kv().hash, kv.current_revision)
    assert st.total_size == len(stream) - 32 and st.consistent_index == len(ENTRIES)
    assert cli("status", str(path)) == 0
    assert capsys.readouterr().out == (f"{st.hash:x}, {st.revision}, {st.total_keys},"
                                       f" {st.total_size / 1000:.1f} kB\n")
    assert cli("status", str(path), "-w", "json") == 0
    assert json.loads(capsys.readouterr().out)["revision"] == kv.current_revision
    assert cli("status", str(path), "-w", "table") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and "| TOTAL KEYS |" in lines[1] and f"{st.hash:x}" in lines[3]


def test_status_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "junk").write_bytes(bytes(512 + 32))
    assert cli("status", str(tmp_path / "junk")) == 1
    assert cli("status", str(tmp_path / "missing")) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"raftviz snapshot status: {tmp_path / 'junk'}: snapshot checksum mismatch"
    assert err[1].endswith("No such file or directory") and len(err) == 2


# --- save over gRPC --------------------------------------------------------------------------

class FakeMaintenance(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, stream: bytes) -> None:
        self.stream = stream

    def Snapshot(self, request, context):
        for start in range(0, len(self.stream), CHUNK):
            chunk = self.stream[start:start + CHUNK]
            yield rpc_pb2.SnapshotResponse(blob=chunk, remaining_bytes=len(self.stream)
                                           - start - len(chunk))


@pytest.fixture
def maintenance(stream_and_kv):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    service = FakeMaintenance(stream_and_kv[0])
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"http://127.0.0.1:{port}", service
    server.stop(None)


def test_save_from_a_member(tmp_path, maintenance, stream_and_kv, capsys):
    url, _ = maintenance
    dest = tmp_path / "saved.db"
    assert cli("save", str(dest), "--endpoints", url) == 0
    assert dest.read_bytes() == stream_and_kv[0]
    assert capsys.readouterr().out.startswith(f"Snapshot saved at {dest}")


def test_save_refuses_a_damaged_stream(tmp_path, maintenance, capsys):
    url, service = maintenance
    service.stream = service.stream[:-1] + b"\0"
    assert cli("save", str(tmp_path / "x.db"), "--endpoints", url) == 1
    assert "fails its SHA-256 check" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_save_errors_are_one_line(tmp_path, capsys):
    port = free_ports(1)[0]
    dest = str(tmp_path / "x.db")
    assert cli("save", dest, "--endpoints", f"http://127.0.0.1:{port}",
               "--dial-timeout", "0.2s") == 1
    assert cli("save", dest, "--endpoints", "http://a:1,http://b:2") == 2
    assert cli("save", dest, "--endpoints", "unix://x") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and "no connection within 0.2s" in err[0]
    assert "exactly one endpoint" in err[1] and "not an http(s) URL" in err[2]


# --- restore ---------------------------------------------------------------------------------

def restore_args(path, data_dir, name="n1", cluster=None, peer=None, token="tok"):
    cluster = cluster or {"n1": "http://127.0.0.1:2380"}
    return ["restore", str(path), "--data-dir", str(data_dir), "--name", name,
            "--initial-cluster", ",".join(f"{n}={u}" for n, u in cluster.items()),
            "--initial-cluster-token", token,
            "--initial-advertise-peer-urls", peer or cluster.get(name, "http://h:1")]


def check_restored(data_dir: str, name: str, membership: Membership, kv: KVStore) -> None:
    me = membership.by_name(name)
    storage = DiskStorage.open(data_dir, membership.cluster_id, me.id)
    snap, hs = storage.snapshot(), storage.hard_state
    assert snap.metadata.index == kv.consistent_index == hs.commit
    assert (hs.term, hs.vote, snap.metadata.term) == (1, 0, 1)
    assert snap.metadata.conf_state == ConfState(frozenset(membership.voters()))
    (n,) = struct.unpack_from(">I", snap.data)
    assert snap.data[4:4 + n] == membership.encode()
    assert snap.data[4 + n:] == kv.snapshot()
    storage.close()
    assert loaded_state(backend_path(data_dir)) == (kv.snapshot(), membership.encode())
    assert oct(os.stat(data_dir).st_mode & 0o777) == oct(0o700)


def test_restore_builds_a_member_data_dir(tmp_path, stream_and_kv, capsys):
    stream, kv = stream_and_kv
    (tmp_path / "snap.db").write_bytes(stream)
    cluster = {"n1": "http://127.0.0.1:2380", "n2": "http://127.0.0.1:2480"}
    data_dir = tmp_path / "n2.raftviz"
    assert cli(*restore_args(tmp_path / "snap.db", data_dir, "n2", cluster)) == 0
    assert f"restored revision {kv.current_revision}" in capsys.readouterr().out
    membership = Membership.initial({n: (u,) for n, u in cluster.items()}, "tok")
    check_restored(str(data_dir), "n2", membership, kv)
    assert sorted(os.listdir(tmp_path)) == ["n2.raftviz", "snap.db"]


def test_restore_refusals_are_one_line(tmp_path, stream_and_kv, capsys):
    snap = tmp_path / "snap.db"
    snap.write_bytes(stream_and_kv[0])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    assert cli(*restore_args(snap, busy)) == 1
    assert cli(*restore_args(snap, tmp_path / "d", name="zz")) == 2
    assert cli(*restore_args(snap, tmp_path / "d", peer="http://127.0.0.1:9")) == 2
    (tmp_path / "bad.db").write_bytes(stream_and_kv[0][:-1] + b"\1")
    assert cli(*restore_args(tmp_path / "bad.db", tmp_path / "d")) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"raftviz snapshot restore: data-dir {str(busy)!r} exists"
    assert "no member named 'zz'" in err[1] and "--initial-advertise-peer-urls" in err[2]
    assert err[3].endswith("snapshot checksum mismatch") and len(err) == 4
    assert not (tmp_path / "d").exists()


def test_restore_takes_over_an_empty_dir_and_skips_hash_for_a_copied_db(tmp_path,
                                                                        stream_and_kv):
    stream, kv = stream_and_kv
    (tmp_path / "copied.db").write_bytes(stream[:-32])
    (tmp_path / "d").mkdir()
    argv = restore_args(tmp_path / "copied.db", tmp_path / "d")
    assert cli(*argv) == 1
    assert cli(*argv, "--skip-hash-check") == 0
    membership = Membership.initial({"n1": ("http://127.0.0.1:2380",)}, "tok")
    check_restored(str(tmp_path / "d"), "n1", membership, kv)


@pytest.mark.trio
async def test_restored_cluster_serves_the_keyspace_and_goes_on(tmp_path, stream_and_kv):
    """Three data dirs restored from one snapshot: the members elect a leader, serve the
    old keys, and continue the revision sequence."""
    stream, kv = stream_and_kv
    (tmp_path / "snap.db").write_bytes(stream)
    cluster = LiveCluster(tmp_path)
    flat = {name: urls[0] for name, urls in cluster.urls.items()}
    for name in flat:
        assert cli(*restore_args(tmp_path / "snap.db", tmp_path / name, name, flat,
                                 token="test-token")) == 0
    everything = RangeRequest(b"\0", b"\0")
    async with trio.open_nursery() as nursery:
        await cluster.start_all(nursery)
        leader = await cluster.wait_leader()
        response = await leader.propose(PutRequest(b"after", b"restore"))
        assert response.header.revision == kv.current_revision + 1
        for server in cluster.servers.values():
            await server.linearizable_barrier()
            kvs = server.kv.range(everything).kvs
            assert [x for x in kvs if x.key != b"after"] == list(kv.range(everything).kvs)
        nursery.cancel_scope.cancel()


def test_stream_digest_matches_backup(tmp_path):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES[:100], batch=100)
    backend = Backend.open(path)
    stream, db = backend.snapshot_stream(), backend.snapshot_db()
    digest = backend.backup(str(tmp_path / "b.db"))
    backend.close()
    assert hashlib.sha256(stream[:-32]).digest() == stream[-32:]
    assert len(db) % 512 == 0 and db == stream[:-32]      # no padding needed for etcdctl
    assert digest == hashlib.sha256(db).hexdigest()
    assert loaded_state(str(tmp_path / "b.db")) == loaded_state(path)
