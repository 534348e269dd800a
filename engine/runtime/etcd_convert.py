"""Between etcd's protobuf messages and the keyspace's dataclasses.

Requests come in as etcdserverpb messages and leave as engine.kv requests; responses go
the other way, with the header every etcd response carries (cluster id, member id,
revision, raft term) filled by the caller's `Header`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import kv

from .proto import kv_pb2, rpc_pb2


@dataclass(frozen=True, slots=True)
class Header:
    cluster_id: int
    member_id: int
    raft_term: int

    def pb(self, revision: int) -> rpc_pb2.ResponseHeader:
        return rpc_pb2.ResponseHeader(cluster_id=self.cluster_id, member_id=self.member_id,
                                      revision=revision, raft_term=self.raft_term)


class RevisionOnly(Header):
    """Responses nested in a txn carry only a revision in their header, as in etcd."""

    def pb(self, revision: int) -> rpc_pb2.ResponseHeader:
        return rpc_pb2.ResponseHeader(revision=revision)


NESTED = RevisionOnly(0, 0, 0)


# -- requests --

def range_request(r: rpc_pb2.RangeRequest) -> kv.RangeRequest:
    return kv.RangeRequest(
        key=r.key, range_end=r.range_end, limit=r.limit, revision=r.revision,
        sort_order=kv.SortOrder(r.sort_order), sort_target=kv.SortTarget(r.sort_target),
        serializable=r.serializable, keys_only=r.keys_only, count_only=r.count_only,
        min_mod_revision=r.min_mod_revision, max_mod_revision=r.max_mod_revision,
        min_create_revision=r.min_create_revision, max_create_revision=r.max_create_revision)


def put_request(r: rpc_pb2.PutRequest) -> kv.PutRequest:
    return kv.PutRequest(key=r.key, value=r.value, lease=r.lease, prev_kv=r.prev_kv,
                         ignore_value=r.ignore_value, ignore_lease=r.ignore_lease)


def delete_request(r: rpc_pb2.DeleteRangeRequest) -> kv.DeleteRangeRequest:
    return kv.DeleteRangeRequest(key=r.key, range_end=r.range_end, prev_kv=r.prev_kv)


def compare(c: rpc_pb2.Compare) -> kv.Compare:
    return kv.Compare(
        key=c.key, target=kv.CompareTarget(c.target), result=kv.CompareResult(c.result),
        version=c.version, create_revision=c.create_revision, mod_revision=c.mod_revision,
        value=c.value, lease=c.lease, range_end=c.range_end)


def request_op(op: rpc_pb2.RequestOp):
    which = op.WhichOneof("request")
    if which == "request_range":
        return range_request(op.request_range)
    if which == "request_put":
        return put_request(op.request_put)
    if which == "request_delete_range":
        return delete_request(op.request_delete_range)
    if which == "request_txn":
        return txn_request(op.request_txn)
    raise ValueError("etcdserver: a txn operation is empty")


def txn_request(r: rpc_pb2.TxnRequest) -> kv.TxnRequest:
    return kv.TxnRequest(compare=tuple(compare(c) for c in r.compare),
                         success=tuple(request_op(o) for o in r.success),
                         failure=tuple(request_op(o) for o in r.failure))


# -- responses --

def key_value(x: kv.KeyValue) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(key=x.key, create_revision=x.create_revision,
                           mod_revision=x.mod_revision, version=x.version, value=x.value,
                           lease=x.lease)


def range_response(r: kv.RangeResponse, h: Header) -> rpc_pb2.RangeResponse:
    return rpc_pb2.RangeResponse(header=h.pb(r.header.revision),
                                 kvs=[key_value(x) for x in r.kvs], more=r.more, count=r.count)


def put_response(r: kv.PutResponse, h: Header) -> rpc_pb2.PutResponse:
    out = rpc_pb2.PutResponse(header=h.pb(r.header.revision))
    if r.prev_kv is not None:
        out.prev_kv.CopyFrom(key_value(r.prev_kv))
    return out


def delete_response(r: kv.DeleteRangeResponse, h: Header) -> rpc_pb2.DeleteRangeResponse:
    return rpc_pb2.DeleteRangeResponse(header=h.pb(r.header.revision), deleted=r.deleted,
                                       prev_kvs=[key_value(x) for x in r.prev_kvs])


def response_op(r, h: Header) -> rpc_pb2.ResponseOp:
    if isinstance(r, kv.RangeResponse):
        return rpc_pb2.ResponseOp(response_range=range_response(r, h))
    if isinstance(r, kv.PutResponse):
        return rpc_pb2.ResponseOp(response_put=put_response(r, h))
    if isinstance(r, kv.DeleteRangeResponse):
        return rpc_pb2.ResponseOp(response_delete_range=delete_response(r, h))
    return rpc_pb2.ResponseOp(response_txn=txn_response(r, h))


def txn_response(r: kv.TxnResponse, h: Header) -> rpc_pb2.TxnResponse:
    return rpc_pb2.TxnResponse(header=h.pb(r.header.revision), succeeded=r.succeeded,
                               responses=[response_op(x, NESTED) for x in r.responses])


def event(e: kv.Event) -> kv_pb2.Event:
    out = kv_pb2.Event(type=int(e.type), kv=key_value(e.kv))
    if e.prev_kv is not None:
        out.prev_kv.CopyFrom(key_value(e.prev_kv))
    return out


def watch_response(r: kv.WatchResponse, h: Header, watch_id: int) -> rpc_pb2.WatchResponse:
    return rpc_pb2.WatchResponse(
        header=h.pb(r.header.revision), watch_id=watch_id, canceled=r.canceled,
        compact_revision=r.compact_revision, events=[event(e) for e in r.events])
