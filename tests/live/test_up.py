"""`raftviz up`: prints the endpoints once a leader exists, recovers the same cluster from
its data dir after every process was killed with kill -9, and refuses bad input with one
clear line."""

import os
import signal
import subprocess
import sys
import threading

import grpc
import pytest

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc


def start_up(data_dir, *extra):
    # stderr to a file: a pipe nobody reads could fill up and stall `up`'s status lines.
    err = open(data_dir / "up.stderr", "a")
    p = subprocess.Popen([sys.executable, "-m", "raftviz", "up", "--data-dir", str(data_dir),
                          "--heartbeat-interval", "20", "--election-timeout", "200", *extra],
                         stdout=subprocess.PIPE, stderr=err, text=True,
                         start_new_session=True)
    line = p.stdout.readline()
    assert line.startswith("endpoints: "), (line, (data_dir / "up.stderr").read_text())
    return p, line.split(" ", 1)[1].strip().split(",")


def kill_everything(p):
    os.killpg(p.pid, signal.SIGKILL)      # `up` and every member: no clean shutdown
    p.wait()


def kv(url):
    return rpc_pb2_grpc.KVStub(grpc.insecure_channel(url.split("://")[1]))


def test_recovers_the_same_cluster_after_kill_9_of_every_process(tmp_path):
    p, urls = start_up(tmp_path)
    try:
        assert len(urls) == 3 and all(u.startswith("http://127.0.0.1:") for u in urls)
        for i in range(20):
            kv(urls[i % 3]).Put(rpc_pb2.PutRequest(key=b"k%02d" % i, value=b"v"), timeout=5)
    finally:
        kill_everything(p)
    assert oct(os.stat(tmp_path / "n1").st_mode & 0o777) == "0o700"
    p, again = start_up(tmp_path)
    try:
        assert again == urls                     # same ports, same members
        r = kv(urls[1]).Range(rpc_pb2.RangeRequest(key=b"k", range_end=b"l"), timeout=10)
        assert r.count == 20 and r.header.revision == 21
    finally:
        p.send_signal(signal.SIGINT)             # Ctrl-C stops every member cleanly
        assert p.wait(30) == 0, (tmp_path / "up.stderr").read_text()


@pytest.mark.parametrize("args, message", [
    (["up", "--nodes", "9"], "--nodes must be between 1 and 7"),
    (["node", "--initial-cluster", "a=http://127.0.0.1:1", "--name", "b"],
     "--initial-cluster has no member named 'b'"),
    (["node", "--listen-peer-urls", "127.0.0.1:notaport"], "--listen-peer-urls"),
    (["node", "--heartbeat-interval", "100", "--election-timeout", "200"],
     "--election-timeout should be at least 5 times"),
])
def test_bad_flags_give_one_line(tmp_path, args, message):
    r = subprocess.run([sys.executable, "-m", "raftviz", *args], capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_busy_port_and_foreign_data_dir(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    busy = s.getsockname()[1]
    try:
        r = subprocess.run([sys.executable, "-m", "raftviz", "node", "--data-dir",
                            str(tmp_path / "d"), "--listen-peer-urls",
                            f"http://127.0.0.1:{busy}", "--listen-client-urls",
                            "http://127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    finally:
        s.close()
    assert r.returncode == 1 and "cannot listen for peers" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "meta").write_bytes(b"not a raftviz data dir")
    r = subprocess.run([sys.executable, "-m", "raftviz", "node", "--data-dir",
                        str(tmp_path / "junk"), "--listen-client-urls", "http://127.0.0.1:0",
                        "--listen-peer-urls", "http://127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "junk" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [[], ["up"], ["node", "--name", "a"]])
def test_a_data_dir_that_cannot_be_made_is_one_line_naming_it(tmp_path, command):
    (tmp_path / "file").write_text("")
    bad = tmp_path / "file" / "d"
    r = subprocess.run([sys.executable, "-m", "raftviz", *command, "--data-dir", str(bad)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].endswith(f": {bad}: Not a directory"), r.stderr
    assert "Errno" not in r.stderr and "Traceback" not in r.stderr


def test_a_member_stops_at_once_while_a_client_watches(tmp_path):
    """SIGTERM with a client's watch stream open: the member stops its gRPC server from
    its loop while gRPC ends the stream from its own thread; the stream's cleanup used to
    wait for that loop, so the member hung until it was killed."""
    from raftviz.live_procs import LocalCluster

    cluster = LocalCluster(1, str(tmp_path / "c"), 20, 200)
    cluster.start(20)
    channel = grpc.insecure_channel(cluster.client_urls()[0].split("://")[1])
    try:
        def requests():
            yield rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"k"))
            threading.Event().wait(30)
        call = rpc_pb2_grpc.WatchStub(channel).Watch(requests())
        assert next(call).created
        member = cluster.procs[1]
        member.send_signal(signal.SIGTERM)
        assert member.wait(timeout=5) == 0
    finally:
        channel.close()
        cluster.stop()


def test_a_signal_during_a_status_poll_lets_the_poll_finish_then_stops(tmp_path, monkeypatch):
    """The handler only notes Ctrl-C or SIGTERM. Raised from the handler, KeyboardInterrupt
    landed wherever the poll was, once inside a lock's `with` in gRPC's code between its
    acquire and its release, and `up` failed "cannot release un-acquired lock" (CI)."""
    from raftviz import cmd_up
    finished = []

    def status_line(layout, procs):
        lock = threading.Lock()
        with lock:
            os.kill(os.getpid(), signal.SIGINT)      # its handler runs here, the lock held
            finished.append(lock.locked())
        return "n1: leader term 2 commit 7"
    monkeypatch.setattr(cmd_up, "start_members", lambda *args, **kwargs: [])
    monkeypatch.setattr(cmd_up, "wait_for_leader", lambda *args: True)
    monkeypatch.setattr(cmd_up, "status_line", status_line)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = cmd_up.run(cmd_up.argparse.Namespace(nodes=3, data_dir=str(tmp_path), wait=5))
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert code == 0 and finished == [True]
