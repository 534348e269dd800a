"""Pins the wire schema of etcd 3.4's v3 API in engine.runtime.proto: a handful of field
numbers etcdctl depends on, and every service's methods with their streaming kinds.
A renumbering or a dropped RPC fails here rather than silently confusing etcdctl."""

import pytest
from google.protobuf.descriptor import FieldDescriptor

from engine.runtime.proto import auth_pb2, kv_pb2, rpc_pb2

UNARY, SERVER_STREAM, BIDI = "unary", "server-stream", "bidi"

SERVICES = {
    "KV": {name: UNARY for name in ("Range", "Put", "DeleteRange", "Txn", "Compact")},
    "Watch": {"Watch": BIDI},
    "Lease": {"LeaseGrant": UNARY, "LeaseRevoke": UNARY, "LeaseKeepAlive": BIDI,
              "LeaseTimeToLive": UNARY, "LeaseLeases": UNARY},
    "Cluster": {name: UNARY for name in ("MemberAdd", "MemberRemove", "MemberUpdate",
                                         "MemberList", "MemberPromote")},
    "Maintenance": {"Alarm": UNARY, "Status": UNARY, "Defragment": UNARY, "Hash": UNARY,
                    "HashKV": UNARY, "Snapshot": SERVER_STREAM, "MoveLeader": UNARY},
    "Auth": {name: UNARY for name in (
        "AuthEnable", "AuthDisable", "Authenticate", "UserAdd", "UserGet", "UserList",
        "UserDelete", "UserChangePassword", "UserGrantRole", "UserRevokeRole", "RoleAdd",
        "RoleGet", "RoleList", "RoleDelete", "RoleGrantPermission", "RoleRevokePermission")},
}

FIELDS = {
    (rpc_pb2.ResponseHeader, "cluster_id revision raft_term"): (1, 3, 4),
    (rpc_pb2.RangeRequest, "key range_end limit revision sort_order sort_target "
                           "serializable keys_only count_only min_mod_revision "
                           "max_mod_revision min_create_revision max_create_revision"):
        tuple(range(1, 14)),
    (rpc_pb2.RangeResponse, "header kvs more count"): (1, 2, 3, 4),
    (rpc_pb2.PutRequest, "key value lease prev_kv ignore_value ignore_lease"): (1, 2, 3, 4, 5, 6),
    (rpc_pb2.DeleteRangeResponse, "deleted prev_kvs"): (2, 3),
    (rpc_pb2.Compare, "result target key version create_revision mod_revision value lease "
                      "range_end"): (1, 2, 3, 4, 5, 6, 7, 8, 64),
    (rpc_pb2.RequestOp, "request_range request_put request_delete_range request_txn"):
        (1, 2, 3, 4),
    (rpc_pb2.WatchRequest, "create_request cancel_request progress_request"): (1, 2, 3),
    (rpc_pb2.WatchCreateRequest, "key range_end start_revision progress_notify filters "
                                 "prev_kv watch_id fragment"): tuple(range(1, 9)),
    (rpc_pb2.WatchResponse, "header watch_id created canceled compact_revision "
                            "cancel_reason fragment events"): (1, 2, 3, 4, 5, 6, 7, 11),
    (rpc_pb2.LeaseTimeToLiveResponse, "ID TTL grantedTTL keys"): (2, 3, 4, 5),
    (rpc_pb2.Member, "ID name peerURLs clientURLs isLearner"): (1, 2, 3, 4, 5),
    (rpc_pb2.MemberAddRequest, "peerURLs isLearner"): (1, 2),
    (rpc_pb2.StatusResponse, "header version dbSize leader raftIndex raftTerm "
                             "raftAppliedIndex errors dbSizeInUse isLearner"):
        tuple(range(1, 11)),
    (rpc_pb2.HashKVResponse, "hash compact_revision"): (2, 3),
    (rpc_pb2.SnapshotResponse, "header remaining_bytes blob"): (1, 2, 3),
    (rpc_pb2.AlarmRequest, "action memberID alarm"): (1, 2, 3),
    (rpc_pb2.AuthUserAddRequest, "name password options"): (1, 2, 3),
    (kv_pb2.KeyValue, "key create_revision mod_revision version value lease"):
        (1, 2, 3, 4, 5, 6),
    (kv_pb2.Event, "type kv prev_kv"): (1, 2, 3),
    (auth_pb2.Permission, "permType key range_end"): (1, 2, 3),
    (auth_pb2.User, "name password roles options"): (1, 2, 3, 4),
}


def kind(method) -> str:
    if method.client_streaming and method.server_streaming:
        return BIDI
    if method.server_streaming:
        return SERVER_STREAM
    assert not method.client_streaming, method.full_name
    return UNARY


def test_packages():
    assert rpc_pb2.DESCRIPTOR.package == "etcdserverpb"
    assert kv_pb2.DESCRIPTOR.package == "mvccpb"
    assert auth_pb2.DESCRIPTOR.package == "authpb"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_methods_and_streaming(service):
    descriptor = rpc_pb2.DESCRIPTOR.services_by_name[service]
    actual = {m.name: kind(m) for m in descriptor.methods}
    assert actual == SERVICES[service]


@pytest.mark.parametrize("message,names", list(FIELDS), ids=lambda x: getattr(x, "__name__", ""))
def test_field_numbers(message, names):
    fields = message.DESCRIPTOR.fields_by_name
    actual = tuple(fields[name].number for name in names.split())
    assert actual == FIELDS[(message, names)]


def test_enum_values():
    assert rpc_pb2.RangeRequest.SortTarget.Value("VALUE") == 4
    assert rpc_pb2.Compare.CompareResult.Value("NOT_EQUAL") == 3
    assert rpc_pb2.Compare.CompareTarget.Value("LEASE") == 4
    assert rpc_pb2.AlarmType.Value("CORRUPT") == 2
    assert rpc_pb2.WatchCreateRequest.FilterType.Value("NODELETE") == 1
    assert kv_pb2.Event.EventType.Value("DELETE") == 1
    assert auth_pb2.Permission.Type.Value("READWRITE") == 2


def test_keys_are_bytes_and_member_ids_unsigned():
    def field_type(message, name):
        return message.DESCRIPTOR.fields_by_name[name].type

    assert field_type(rpc_pb2.RangeRequest, "range_end") == FieldDescriptor.TYPE_BYTES
    assert field_type(kv_pb2.KeyValue, "key") == FieldDescriptor.TYPE_BYTES
    assert field_type(rpc_pb2.AuthRoleRevokePermissionRequest, "key") == FieldDescriptor.TYPE_BYTES
    assert field_type(rpc_pb2.Member, "ID") == FieldDescriptor.TYPE_UINT64
    assert field_type(rpc_pb2.LeaseGrantResponse, "ID") == FieldDescriptor.TYPE_INT64
    assert field_type(rpc_pb2.WatchResponse, "watch_id") == FieldDescriptor.TYPE_INT64
