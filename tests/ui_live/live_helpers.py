"""Waiting on a live backend: conditions with deadlines instead of sleeps, and failure
messages that show the cluster as it was; a real etcd to attach to."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterator

from engine.observe import ClusterView
from raftviz.live import LiveBackend
from tests.etcd.etcd_cluster import (
    EtcdCluster, clean_env, member_args, new_cluster, require_etcd, stop_members, wait_ready,
)

WAIT_S = 20.0


def summary(view: ClusterView) -> str:
    nodes = ", ".join(f"{n.id}:{n.state_text} t{n.term} c{n.commit}" for n in view.nodes)
    return f"nodes [{nodes}] cuts {view.network.cuts} note {view.note!r}"


def wait(backend: LiveBackend, ready: Callable[[ClusterView], object], what: str,
         timeout: float = WAIT_S) -> ClusterView:
    try:
        return backend.wait_for(ready, timeout)
    except TimeoutError:
        raise AssertionError(f"{what} not seen within {timeout:g}s; "
                             f"{summary(backend.view())}") from None


def stable_leader(backend: LiveBackend) -> ClusterView:
    """A view where every running voter follows the same leader."""
    def ready(v: ClusterView) -> bool:
        leader = v.leader()
        return leader is not None and all(
            n.lead == leader.id and n.term == leader.term
            for n in v.nodes if n.up and not n.removed)
    return wait(backend, ready, "one leader that every running node follows")


def answered(backend: LiveBackend, request_id: str, timeout: float = WAIT_S):
    view = wait(backend, lambda v: (r := v.request(request_id)) and r.status != "pending",
                f"an answer to {request_id}", timeout)
    return view.request(request_id)


def send(backend: LiveBackend, line: str, node: int = 0):
    """Send a client line and wait for its answer; the finished trace."""
    return answered(backend, backend.client(line, node).request_id)


@contextlib.contextmanager
def real_etcd(size: int = 3) -> Iterator[EtcdCluster]:
    """etcd_cluster() from tests/etcd, started without a preexec_fn: this process runs
    gRPC threads, and Python code between fork and exec could abort the child."""
    require_etcd()
    root = Path(tempfile.mkdtemp(prefix="raftviz-etcd-"))
    cluster = new_cluster(root, size)
    token = f"raftviz-live-{uuid.uuid4().hex[:12]}"
    try:
        for i, name in enumerate(cluster.names):
            with open(root / f"{name}.log", "wb") as log:
                cluster.procs.append(subprocess.Popen(
                    member_args(cluster, i, token), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True))
        wait_ready(cluster)
        yield cluster
    finally:
        stop_members(cluster)
        shutil.rmtree(root, ignore_errors=True)
