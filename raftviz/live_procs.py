"""The member processes of a cluster the interface started itself.

`LocalCluster` starts `raftviz node` processes the way `raftviz up` does (cmd_up's layout
and flags), and later kills one like kill -9, wipes its data dir, starts it again with the
very same flags, freezes it with SIGSTOP, or starts a new member that joins the running
cluster. Members are numbered 1..N as the interface shows them. `stop()` ends every
process and, for a temporary data dir, removes it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .cmd_up import (
    Layout, free_ports, load_or_create_layout, member_command, start_members, stop_members,
    wait_for_leader,
)


class LocalCluster:
    def __init__(self, nodes: int, data_dir: str | None, heartbeat_ms: int,
                 election_ms: int) -> None:
        self.temporary = data_dir is None
        self.data_dir = tempfile.mkdtemp(prefix="raftviz-") if data_dir is None else data_dir
        self.flags = argparse.Namespace(heartbeat_interval=heartbeat_ms,
                                        election_timeout=election_ms)
        self.layout: Layout = load_or_create_layout(self.data_dir, nodes)
        self.argv: dict[int, list[str]] = {}
        self.procs: dict[int, subprocess.Popen] = {}
        self.frozen: set[int] = set()
        self.started_at = time.monotonic()

    # -- the whole cluster --

    def start(self, timeout: float) -> None:
        """Start every member and wait (at most `timeout` seconds) for a leader."""
        self.started_at = time.monotonic()
        for i, proc in enumerate(start_members(self.layout, self.data_dir, self.flags)):
            self.procs[i + 1] = proc
            self.argv[i + 1] = member_command(self.layout, i, self.data_dir, self.flags)
        wait_for_leader(self.layout, list(self.procs.values()), self.data_dir, timeout)

    def client_urls(self) -> list[str]:
        return self.layout.client_urls()

    def stop(self) -> None:
        for number in list(self.frozen):
            self.thaw(number)     # a stopped process cannot act on SIGTERM
        stop_members(list(self.procs.values()))
        if self.temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- one member --

    def owns(self, number: int) -> bool:
        return number in self.procs

    def running(self, number: int) -> bool:
        proc = self.procs.get(number)
        return proc is not None and proc.poll() is None

    def pid(self, number: int) -> int:
        return self.procs[number].pid

    def member_dir(self, number: int) -> str:
        argv = self.argv[number]
        return argv[argv.index("--data-dir") + 1]

    def kill(self, number: int) -> None:
        """Like kill -9: no chance to flush or say goodbye."""
        proc = self.procs[number]
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        self.frozen.discard(number)

    def wipe(self, number: int) -> None:
        shutil.rmtree(self.member_dir(number), ignore_errors=True)

    def restart(self, number: int) -> None:
        self.procs[number] = self._spawn(number, self.argv[number])

    def freeze(self, number: int) -> None:
        os.kill(self.pid(number), signal.SIGSTOP)
        self.frozen.add(number)

    def thaw(self, number: int) -> None:
        if self.running(number):
            os.kill(self.pid(number), signal.SIGCONT)
        self.frozen.discard(number)

    def stop_member(self, number: int) -> None:
        if number in self.frozen:
            self.thaw(number)
        stop_members([self.procs[number]])

    def new_ports(self) -> tuple[str, str]:
        """Peer and client URLs for a member about to join."""
        peer, client = free_ports(2)
        return f"http://127.0.0.1:{peer}", f"http://127.0.0.1:{client}"

    def join(self, number: int, name: str, peer_url: str, client_url: str,
             initial_cluster: str) -> None:
        """Start a member that the cluster has just added (MemberAdd): it joins with
        --initial-cluster-state existing and catches up from the leader."""
        argv = [sys.executable, "-m", "raftviz", "node", "--name", name,
                "--data-dir", os.path.join(self.data_dir, name),
                "--listen-client-urls", client_url, "--listen-peer-urls", peer_url,
                "--initial-cluster", initial_cluster, "--initial-cluster-state", "existing",
                "--initial-cluster-token", self.layout.token,
                "--heartbeat-interval", str(self.flags.heartbeat_interval),
                "--election-timeout", str(self.flags.election_timeout), "--enable-control"]
        self.argv[number] = argv
        self.procs[number] = self._spawn(number, argv)

    def _spawn(self, number: int, argv: list[str]) -> subprocess.Popen:
        name = argv[argv.index("--name") + 1]
        with open(os.path.join(self.data_dir, f"{name}.log"), "ab") as log:
            return subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
