"""A whole live member: the trio EtcdServer plus etcd's gRPC API on its client URLs.

`run_member` is what `raftviz node` runs: it opens the member's data dir, joins its peers,
and serves clients until cancelled; cancelling it stops the gRPC server and the member's
whole task tree. TLS for clients and peers is optional, with etcd's flag meanings.
"""

from __future__ import annotations

import logging
import ssl
from concurrent import futures
from dataclasses import dataclass

import grpc
import trio

from .etcd_grpc import (
    Bridge, ClusterService, KVService, LeaseService, MaintenanceService,
)
from .control import ControlService
from .disk import recorded_node_id
from .etcd_watch import WatchService
from .join import learn_membership
from .proto import rpc_pb2_grpc
from .server import EtcdServer, ServerConfig

log = logging.getLogger("raftviz.node")

GRPC_WORKERS = 256


@dataclass(frozen=True)
class TLSFiles:
    cert_file: str = ""
    key_file: str = ""
    trusted_ca_file: str = ""
    client_cert_auth: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.cert_file and self.key_file)


def grpc_credentials(tls: TLSFiles) -> grpc.ServerCredentials:
    with open(tls.key_file, "rb") as f:
        key = f.read()
    with open(tls.cert_file, "rb") as f:
        cert = f.read()
    ca = None
    if tls.trusted_ca_file:
        with open(tls.trusted_ca_file, "rb") as f:
            ca = f.read()
    return grpc.ssl_server_credentials(((key, cert),), root_certificates=ca,
                                       require_client_auth=tls.client_cert_auth)


def peer_ssl_contexts(tls: TLSFiles) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH,
                                        cafile=tls.trusted_ca_file or None)
    server.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_cert_auth:
        server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.create_default_context(cafile=tls.trusted_ca_file or None)
    client.load_cert_chain(tls.cert_file, tls.key_file)
    return server, client


def build_grpc_server(bridge: Bridge, addresses: list[tuple[str, int]],
                      tls: TLSFiles, control: bool = False) -> tuple[grpc.Server, list[int]]:
    server = grpc.server(futures.ThreadPoolExecutor(GRPC_WORKERS, "grpc"),
                         options=[("grpc.so_reuseport", 0),
                                  ("grpc.max_receive_message_length",
                                   bridge.server.cfg.max_request_bytes + (1 << 20))])
    rpc_pb2_grpc.add_KVServicer_to_server(KVService(bridge), server)
    rpc_pb2_grpc.add_WatchServicer_to_server(WatchService(bridge), server)
    rpc_pb2_grpc.add_LeaseServicer_to_server(LeaseService(bridge), server)
    rpc_pb2_grpc.add_ClusterServicer_to_server(ClusterService(bridge), server)
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(MaintenanceService(bridge), server)
    if control:
        server.add_generic_rpc_handlers(
            (ControlService(bridge.server, bridge.token).handler(),))
    ports = []
    for host, port in addresses:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if tls.enabled:
            bound = server.add_secure_port(target, grpc_credentials(tls))
        else:
            bound = server.add_insecure_port(target)
        if bound == 0:
            raise OSError(f"cannot listen for clients on {target}: address in use?")
        ports.append(bound)
    return server, ports


async def run_member(cfg: ServerConfig, client_addresses: list[tuple[str, int]],
                     client_tls: TLSFiles = TLSFiles(), peer_tls: TLSFiles = TLSFiles(), *,
                     control: bool = False,
                     task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve one member until cancelled. `control` adds raftviz's control service
    (observe, faults, crash) on the client port: for local teaching clusters only."""
    if peer_tls.enabled:
        cfg.ssl_server, cfg.ssl_client = peer_ssl_contexts(peer_tls)
    if not cfg.new_cluster and recorded_node_id(cfg.data_dir) is None:
        cfg.membership, cfg.member_id = await learn_membership(
            cfg.membership, cfg.name, ssl_client=cfg.ssl_client,
            max_frame_size=cfg.max_frame_size)
    member = EtcdServer(cfg)
    async with trio.open_nursery() as nursery:
        await nursery.start(member.run)
        bridge = Bridge(member, trio.lowlevel.current_trio_token())
        grpc_server, ports = build_grpc_server(bridge, client_addresses, client_tls, control)
        grpc_server.start()
        try:
            task_status.started((member, ports))
            await trio.sleep_forever()
        finally:
            # Stop accepting and cut streams; worker threads calling into trio get
            # RunFinishedError once the loop is gone.
            grpc_server.stop(grace=None)
