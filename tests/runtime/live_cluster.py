"""Test helper: an in-process cluster of live members on loopback (one trio run)."""

from __future__ import annotations

import trio

from engine.runtime.membership import Membership
from engine.runtime.server import EtcdServer, ServerConfig
from engine.raft import StateType
from raftviz.cmd_up import free_ports


class LiveCluster:
    def __init__(self, tmp_path, n: int = 3, **settings) -> None:
        self.tmp_path = tmp_path
        ports = free_ports(n)
        self.urls = {f"n{i + 1}": (f"http://127.0.0.1:{p}",) for i, p in enumerate(ports)}
        self.settings = {"heartbeat_ms": 10, "election_ms": 100, **settings}
        self.servers: dict[str, EtcdServer] = {}
        self.scopes: dict[str, trio.CancelScope] = {}

    def config(self, name: str) -> ServerConfig:
        port = int(self.urls[name][0].rsplit(":", 1)[1])
        return ServerConfig(
            name=name, data_dir=str(self.tmp_path / name),
            membership=Membership.initial(self.urls, "test-token"),
            peer_listen=("127.0.0.1", port), token="test-token", **self.settings)

    async def start(self, nursery: trio.Nursery, name: str) -> EtcdServer:
        scope = trio.CancelScope()
        server = EtcdServer(self.config(name))

        async def life(task_status=trio.TASK_STATUS_IGNORED):
            with scope:
                await server.run(task_status=task_status)

        await nursery.start(life)
        self.servers[name], self.scopes[name] = server, scope
        return server

    async def start_all(self, nursery: trio.Nursery) -> None:
        for name in self.urls:
            await self.start(nursery, name)

    async def crash(self, name: str) -> None:
        """Stop a member at once (its task tree is cancelled; the disk keeps what was
        synced) and wait until it is down."""
        self.scopes[name].cancel()
        with trio.fail_after(5):
            while not self.servers[name].stopped:
                await trio.sleep(0.001)

    def leader(self) -> EtcdServer | None:
        for s in self.servers.values():
            if not s.stopped and s.role is StateType.LEADER:
                return s
        return None

    async def wait_leader(self, timeout: float = 10) -> EtcdServer:
        with trio.fail_after(timeout):
            while (leader := self.leader()) is None:
                await trio.sleep(0.01)
        return leader
