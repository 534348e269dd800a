"""The etcdctl-like client language of the simulator: parsing lines, printing answers.

`parse_client_line("put greeting hello")` gives a `ClientOp` saying what to do with it:
propose a keyspace request through Raft, read locally (after ReadIndex unless
`--consistency=s`), ask the leader's lessor, open or cancel a watch, list alarms or disarm
them. `format_response` prints a keyspace response the way etcdctl prints it, so answers
look familiar.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from engine.kv import (
    ALL_KEYS_END, AlarmAction, AlarmRequest, AlarmResponse, CompactionRequest,
    CompactionResponse, Compare, CompareResult, CompareTarget, DeleteRangeRequest,
    DeleteRangeResponse, KVError, LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest,
    LeaseRevokeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse, Request,
    RequestOp, Response, TxnRequest, TxnResponse,
    prefix_range_end,
)
from engine.kv.describe import show


NO_ALARMS = "(no alarms)"


class ClientError(Exception):
    """A line the client cannot make sense of; the text says what is wrong."""


@dataclass(frozen=True, slots=True)
class WatchSpec:
    key: bytes
    range_end: bytes
    start_revision: int
    prev_kv: bool


@dataclass(frozen=True, slots=True)
class ClientOp:
    kind: str                        # write | read | watch | unwatch | keepalive | ttl |
                                     # leases | alarm | disarm
    request: Request | None = None
    serializable: bool = False
    watch: WatchSpec | None = None
    number: int = 0                  # a lease or watch id
    with_keys: bool = False


def parse_client_line(line: str) -> ClientOp:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise ClientError(f"cannot read that line: {exc}") from None
    if not words:
        raise ClientError("type a command, e.g. put greeting hello (or help)")
    args = [w for w in words[1:] if not w.startswith("--")]
    opts = _options(words[1:])
    parser = _PARSERS.get(words[0])
    if parser is None:
        raise ClientError(f"unknown command {words[0]!r}; type help for the list")
    if words[0] == "txn":
        return parser(line.split(None, 1)[1] if len(words) > 1 else "")
    return parser(args, opts)


def _options(words: list[str]) -> dict[str, str]:
    opts = {}
    for w in words:
        if w.startswith("--"):
            name, _, value = w[2:].partition("=")
            opts[name] = value
    return opts


def _int(text: str, what: str, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise ClientError(f"{what} must be a number, not {text!r}") from None


def _need(args: list[str], count: int, usage: str) -> None:
    if len(args) < count:
        raise ClientError(f"usage: {usage}")


def _span(args: list[str], opts: dict[str, str]) -> tuple[bytes, bytes]:
    key = args[0].encode()
    if "prefix" in opts:
        return key, prefix_range_end(key)
    if "from-key" in opts:
        return key, ALL_KEYS_END
    return key, args[1].encode() if len(args) > 1 else b""


def _put(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 2, "put KEY VALUE [--lease=ID] [--prev-kv]")
    lease = _int(opts["lease"], "lease id", 16) if opts.get("lease") else 0
    return ClientOp("write", PutRequest(args[0].encode(), args[1].encode(), lease,
                                        prev_kv="prev-kv" in opts))


def _range(args: list[str], opts: dict[str, str]) -> RangeRequest:
    key, end = _span(args, opts)
    return RangeRequest(key, end, limit=_int(opts.get("limit") or "0", "limit"),
                        revision=_int(opts.get("rev") or "0", "revision"),
                        keys_only="keys-only" in opts, count_only="count-only" in opts,
                        serializable=opts.get("consistency") == "s")


def _get(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "get KEY [END] [--prefix] [--rev=N] [--consistency=s]")
    req = _range(args, opts)
    return ClientOp("read", req, serializable=req.serializable)


def _del(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "del KEY [END] [--prefix] [--prev-kv]")
    key, end = _span(args, opts)
    return ClientOp("write", DeleteRangeRequest(key, end, prev_kv="prev-kv" in opts))


def _compact(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "compact REVISION")
    return ClientOp("write", CompactionRequest(_int(args[0], "revision")))


def _watch(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "watch KEY [END] [--prefix] [--rev=N] [--prev-kv]")
    key, end = _span(args, opts)
    spec = WatchSpec(key, end, _int(opts.get("rev") or "0", "revision"), "prev-kv" in opts)
    return ClientOp("watch", watch=spec)


def _unwatch(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "unwatch WATCH_ID")
    return ClientOp("unwatch", number=_int(args[0], "watch id"))


def _lease(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "lease grant TTL | revoke ID | keep-alive ID | timetolive ID | list")
    verb, rest = args[0], args[1:]
    if verb == "list":
        return ClientOp("leases")
    _need(rest, 1, f"lease {verb} {'TTL' if verb == 'grant' else 'ID'}")
    if verb == "grant":
        return ClientOp("write", LeaseGrantRequest(_int(rest[0], "TTL"), 0))
    lease_id = _int(rest[0], "lease id", 16)
    if verb == "revoke":
        return ClientOp("write", LeaseRevokeRequest(lease_id))
    if verb == "keep-alive":
        return ClientOp("keepalive", number=lease_id)
    if verb == "timetolive":
        return ClientOp("ttl", number=lease_id, with_keys="keys" in opts)
    raise ClientError(f"unknown lease command {verb!r}")


def _alarm(args: list[str], opts: dict[str, str]) -> ClientOp:
    _need(args, 1, "alarm list | disarm")
    if args[0] == "list":
        return ClientOp("alarm", AlarmRequest(AlarmAction.GET))
    if args[0] == "disarm":
        return ClientOp("disarm")
    raise ClientError(f"unknown alarm command {args[0]!r}; use alarm list or alarm disarm")


_TARGETS = {"value": CompareTarget.VALUE, "version": CompareTarget.VERSION,
            "create": CompareTarget.CREATE, "mod": CompareTarget.MOD,
            "lease": CompareTarget.LEASE}
_RESULTS = {"=": CompareResult.EQUAL, "==": CompareResult.EQUAL, "!=": CompareResult.NOT_EQUAL,
            ">": CompareResult.GREATER, "<": CompareResult.LESS}
_COMPARE = re.compile(r'^(\w+)\(\s*"?([^")]*)"?\s*\)\s*(==|!=|=|>|<)\s*(.*)$')


def _txn(text: str) -> ClientOp:
    body, _, failure = text.partition(" else ")
    compares, sep, success = body.partition(" then ")
    if not sep:
        raise ClientError("usage: txn CMP [&& CMP] then OP [; OP] [else OP [; OP]]")
    cmps = tuple(_compare(c.strip()) for c in compares.split("&&") if c.strip())
    return ClientOp("write", TxnRequest(cmps, _ops(success), _ops(failure)))


def _compare(text: str) -> Compare:
    m = _COMPARE.match(text)
    if not m or m.group(1) not in _TARGETS:
        raise ClientError(f"cannot read compare {text!r}; e.g. value(k) = \"v\" or mod(k) > 3")
    target, key, result = _TARGETS[m.group(1)], m.group(2).encode(), _RESULTS[m.group(3)]
    operand = m.group(4).strip().strip('"')
    if target is CompareTarget.VALUE:
        return Compare(key, target, result, value=operand.encode())
    field = {CompareTarget.VERSION: "version", CompareTarget.CREATE: "create_revision",
             CompareTarget.MOD: "mod_revision", CompareTarget.LEASE: "lease"}[target]
    base = 16 if target is CompareTarget.LEASE else 10
    return Compare(key, target, result, **{field: _int(operand, field, base)})


def _ops(text: str) -> tuple[RequestOp, ...]:
    ops = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        op = parse_client_line(part)
        if op.kind not in ("write", "read") or isinstance(op.request, (
                CompactionRequest, LeaseGrantRequest, LeaseRevokeRequest)):
            raise ClientError(f"a txn may only get, put or del, not {part!r}")
        ops.append(op.request)
    return tuple(ops)


_PARSERS = {"put": _put, "get": _get, "del": _del, "delete": _del, "compact": _compact,
            "watch": _watch, "unwatch": _unwatch, "lease": _lease, "txn": _txn,
            "alarm": _alarm}


# --- answers ----------------------------------------------------------------------------


def format_error(error: KVError | Exception) -> str:
    return f"Error: {error}"


def format_response(response: Response, request: Request | None = None) -> str:
    """The answer etcdctl would print; `request` fills in what the response lacks."""
    if isinstance(response, PutResponse):
        prev = response.prev_kv
        return "OK" + (f"\n{show(prev.key)}\n{show(prev.value)}" if prev else "")
    if isinstance(response, RangeResponse):
        return _format_range(response)
    if isinstance(response, DeleteRangeResponse):
        lines = [str(response.deleted)]
        lines += [f"{show(kv.key)}\n{show(kv.value)}" for kv in response.prev_kvs]
        return "\n".join(lines)
    if isinstance(response, TxnResponse):
        head = "SUCCESS" if response.succeeded else "FAILURE"
        return "\n\n".join([head] + [format_response(r) for r in response.responses])
    if isinstance(response, CompactionResponse):
        rev = request.revision if isinstance(request, CompactionRequest) else "?"
        return f"compacted revision {rev}"
    if isinstance(response, LeaseGrantResponse):
        return f"lease {response.id:x} granted with TTL({response.ttl}s)"
    if isinstance(response, LeaseRevokeResponse):
        lease = f" {request.id:x}" if isinstance(request, LeaseRevokeRequest) else ""
        return f"lease{lease} revoked"
    if isinstance(response, AlarmResponse):
        return "\n".join(f"memberID:{m.member_id} alarm:{m.alarm.name}"
                         for m in response.alarms) or NO_ALARMS
    return type(response).__name__


def _format_range(response: RangeResponse) -> str:
    if not response.kvs:
        return str(response.count) if response.count and not response.kvs else "(no keys)"
    return "\n".join(f"{show(kv.key)}\n{show(kv.value)}" for kv in response.kvs)
