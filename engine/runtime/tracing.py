"""A client's name for its request, carried into the Raft log: `raftviz-request` metadata.

A client that wants to follow one of its writes through the cluster (raftviz's live
interface) sends the gRPC metadata `raftviz-request: <trace id>` with it. The member that
takes the request records the id on the entry it proposes (envelope.py), and every member's
control service shows it beside the entry, so the entry can be found in every log.

The metadata is optional and only ever read: etcdctl and etcd's clients do not send it and
are served exactly as before, a real etcd ignores it, and a value that is not a short
printable ASCII word is ignored rather than refused.
"""

from __future__ import annotations

from typing import Iterable

from .envelope import MAX_TRACE_BYTES

METADATA_KEY = "raftviz-request"


def valid_trace(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= MAX_TRACE_BYTES
            and value.isascii() and value.isprintable() and " " not in value)


def trace_from_metadata(metadata: Iterable[tuple[str, object]] | None) -> str:
    """The trace id among a call's metadata, or "" if it has none (or none usable)."""
    for key, value in metadata or ():
        if key == METADATA_KEY:
            return value if valid_trace(value) else ""
    return ""


def trace_of(context) -> str:
    """The trace id a gRPC call arrived with (a grpc.ServicerContext)."""
    return trace_from_metadata(context.invocation_metadata())


def trace_metadata(trace: str) -> tuple[tuple[str, str], ...]:
    """What a client sends to have its request's entry carry `trace`."""
    return ((METADATA_KEY, trace),) if valid_trace(trace) else ()
