"""Asking a live cluster how it is: Maintenance.Status of each endpoint, over gRPC."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc


def _target(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def status_of(url: str, timeout: float) -> rpc_pb2.StatusResponse | None:
    """The endpoint's status, or None if it does not answer in time."""
    with grpc.insecure_channel(_target(url)) as channel:
        try:
            return rpc_pb2_grpc.MaintenanceStub(channel).Status(
                rpc_pb2.StatusRequest(), timeout=timeout)
        except grpc.RpcError:
            return None


def query_status(urls: list[str], timeout: float = 1.0) -> list[rpc_pb2.StatusResponse | None]:
    with ThreadPoolExecutor(max(1, len(urls))) as pool:
        return list(pool.map(lambda u: status_of(u, timeout), urls))


def leader_of(statuses: list[rpc_pb2.StatusResponse | None]) -> int:
    """The member id that an answering member reports as leader and that itself answers
    as leader; 0 if there is none."""
    answering = {s.header.member_id: s for s in statuses if s is not None}
    for s in answering.values():
        leader = answering.get(s.leader)
        if leader is not None and leader.leader == leader.header.member_id:
            return s.leader
    return 0
