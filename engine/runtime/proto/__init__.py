"""etcd 3.4's v3 gRPC API as generated Python modules: `rpc_pb2` / `rpc_pb2_grpc`
(etcdserverpb), `kv_pb2` (mvccpb), `auth_pb2` (authpb). Regenerate with
`python -m engine.runtime.proto.generate`; never edit the *_pb2* files by hand."""
