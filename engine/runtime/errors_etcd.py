"""Errors the live server answers with, carrying etcd 3.4's exact messages and gRPC codes.

Keyspace refusals come from engine.kv's KVError (same shape); these are the ones only a
server with a network and a clock can produce.
"""

from __future__ import annotations


class ServerError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def timed_out() -> ServerError:
    return ServerError("etcdserver: request timed out", "UNAVAILABLE")


def no_leader() -> ServerError:
    return ServerError("etcdserver: no leader", "UNAVAILABLE")


def leader_changed() -> ServerError:
    return ServerError("etcdserver: leader changed", "UNAVAILABLE")


def too_large() -> ServerError:
    return ServerError("etcdserver: request is too large", "INVALID_ARGUMENT")


def stopped() -> ServerError:
    return ServerError("etcdserver: server stopped", "UNAVAILABLE")


def member_not_found() -> ServerError:
    return ServerError("etcdserver: member not found", "NOT_FOUND")


def member_exists() -> ServerError:
    return ServerError("etcdserver: member ID already exist", "FAILED_PRECONDITION")


def peer_url_exists() -> ServerError:
    return ServerError("etcdserver: Peer URLs already exists", "FAILED_PRECONDITION")


def learner_not_ready() -> ServerError:
    return ServerError(
        "etcdserver: can only promote a learner member which is in sync with leader",
        "FAILED_PRECONDITION")


def not_learner() -> ServerError:
    return ServerError("etcdserver: can only promote a learner member", "FAILED_PRECONDITION")


def unhealthy() -> ServerError:
    return ServerError("etcdserver: unhealthy cluster", "UNAVAILABLE")


def not_leader() -> ServerError:
    return ServerError("etcdserver: not leader", "FAILED_PRECONDITION")


def bad_leader_transferee() -> ServerError:
    return ServerError("etcdserver: bad leader transferee", "FAILED_PRECONDITION")
