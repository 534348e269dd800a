"""Plays the etcdctl scenarios against any cluster's client endpoints (real etcd 3.4 or
raftviz) and returns each scenario's normalized transcript.

    outputs = run_all(["http://127.0.0.1:2379", ...])   # {scenario name: transcript}

Before the first scenario it learns the members (IDs, URLs) from `member list`, and moves
leadership to the member behind endpoints[0] so "who leads" is the same on every run. The
cluster must be fresh (revision 1), its members named node1..nodeN in endpoint order. Every
etcdctl call is bounded (ETCDCTL_API=3, dial/command timeouts, a process timeout).

Transcript of one step:  `$ etcdctl <args as written in the scenario>`, then stdout lines,
stderr lines prefixed `! `, `< ` lines for stdin, then `exit N` unless it exited 0, or `^C`
for a streaming command stopped on purpose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from tests.etcd.normalize import Names, normalize_stderr, normalize_stdout
from tests.etcd.scenarios import ALL, SCENARIOS, Scenario, Step

ETCDCTL = "/usr/bin/etcdctl"
STEP_TIMEOUT_S = 15.0
PUBLISH_WAIT_S = 10.0     # members publishing their attributes after the first election
LEADER_TIMEOUT_S = 10.0
CLIENT_FLAGS = ["--dial-timeout=2s", "--command-timeout=5s"]


@dataclass
class Result:
    stdout: str
    stderr: str
    returncode: int | None      # None: a streaming command we interrupted


@dataclass
class Runner:
    endpoints: list[str]
    etcdctl: str = ETCDCTL
    variables: dict[str, str] = field(default_factory=dict)
    names: Names = field(default_factory=Names)

    # --- running etcdctl ---------------------------------------------------------------

    def command(self, step: Step) -> list[str]:
        endpoints = self.endpoints if step.endpoints == ALL else self.endpoints[:1]
        args = [self.expand(a) for a in step.args]
        return [self.etcdctl, f"--endpoints={','.join(endpoints)}", *CLIENT_FLAGS, *args]

    def expand(self, text: str) -> str:
        def value(m: re.Match) -> str:
            if m[1] not in self.variables:
                raise KeyError(f"scenario uses {{{m[1]}}} before it is set")
            return self.variables[m[1]]
        return re.sub(r"\{(\w+)\}", value, text)

    def execute(self, step: Step) -> Result:
        stdin = self.expand(step.stdin) if step.stdin is not None else None
        if step.stream_for is not None:
            return run_streaming(self.command(step), step.stream_for)
        done = subprocess.run(self.command(step), input=stdin, capture_output=True, text=True,
                              env=etcdctl_env(), timeout=STEP_TIMEOUT_S)
        return Result(done.stdout, done.stderr, done.returncode)

    def ctl_json(self, *args: str, endpoints: list[str] | None = None) -> object:
        eps = ",".join(endpoints or self.endpoints[:1])
        cmd = [self.etcdctl, f"--endpoints={eps}", *CLIENT_FLAGS, "-w", "json", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, env=etcdctl_env(),
                              timeout=STEP_TIMEOUT_S, check=True)
        return json.loads(done.stdout.splitlines()[0])

    # --- before the scenarios -----------------------------------------------------------

    def learn_members(self) -> None:
        listing = self.published_members()
        self.names.add("cluster", f"{listing['header']['cluster_id']:x}")
        for member in listing["members"]:
            i = self.endpoints.index(member["clientURLs"][0]) + 1
            self.set_variable(f"m{i}", f"{member['ID']:x}")
            self.names.add(f"client{i}", host_port(member["clientURLs"][0]))
            self.names.add(f"peer{i}", host_port(member["peerURLs"][0]))

    def published_members(self) -> dict:
        """`member list` once every member has published its name and client URLs: a
        member does so through the log after it starts (etcd too), so right after the
        first election a listing may still show one without them."""
        deadline = time.monotonic() + PUBLISH_WAIT_S
        while True:
            listing = self.ctl_json("member", "list")
            if all(m.get("clientURLs") for m in listing["members"]):
                return listing
            if time.monotonic() > deadline:
                raise AssertionError(f"members without client URLs after {PUBLISH_WAIT_S}s: "
                                     f"{listing['members']}")
            time.sleep(0.1)

    def leaders(self) -> set[int]:
        statuses = self.ctl_json("endpoint", "status", endpoints=self.endpoints)
        return {s["Status"]["leader"] for s in statuses}

    def pin_leader(self) -> None:
        """Make endpoints[0]'s member the leader, and wait until every member knows it."""
        target = int(self.variables["m1"], 16)
        if self.leaders() != {target}:
            subprocess.run([self.etcdctl, f"--endpoints={','.join(self.endpoints)}",
                            *CLIENT_FLAGS, "move-leader", self.variables["m1"]],
                           capture_output=True, env=etcdctl_env(), timeout=STEP_TIMEOUT_S)
        deadline = time.monotonic() + LEADER_TIMEOUT_S
        while self.leaders() != {target}:
            if time.monotonic() > deadline:
                raise TimeoutError("could not make the first endpoint's member the leader")
            time.sleep(0.1)

    def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value
        self.names.add(name, value)

    # --- scenarios -----------------------------------------------------------------------

    def run_step(self, step: Step) -> list[str]:
        result = self.execute(step)
        for name, pattern in step.capture:
            found = re.search(pattern, result.stdout)
            if not found:
                raise AssertionError(f"{step.command!r}: no {pattern!r} in {result.stdout!r}")
            self.set_variable(name, found[1])
        return self.transcript(step, result)

    def transcript(self, step: Step, result: Result) -> list[str]:
        lines = [f"$ etcdctl {step.command}"]
        lines += [f"< {line}".rstrip() for line in (step.stdin or "").splitlines()]
        lines += normalize_stdout(result.stdout, self.names, step.sort_rows, step.masks)
        errors = normalize_stderr(result.stderr, self.names, step.masks)
        lines += [f"! {line}" for line in (sorted(errors) if step.sort_rows else errors)]
        if result.returncode is None:
            lines.append("^C")
        elif result.returncode != 0:
            lines.append(f"exit {result.returncode}")
        return lines

    def run_scenario(self, scenario: Scenario) -> str:
        blocks = ["\n".join(self.run_step(step)) for step in scenario.steps]
        return "\n\n".join(blocks) + "\n"


def etcdctl_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    return env | {"ETCDCTL_API": "3"}


def host_port(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def run_streaming(cmd: list[str], seconds: float) -> Result:
    """Run a command that never ends by itself; SIGINT it after `seconds` (then kill)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=etcdctl_env())
    try:
        out, err = proc.communicate(timeout=seconds)
        return Result(out, err, proc.returncode)       # it ended by itself
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=5.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return Result(out, err, None)


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_all(endpoints: list[str], etcdctl: str = ETCDCTL,
            scenarios: tuple[Scenario, ...] = SCENARIOS) -> dict[str, str]:
    """Play `scenarios` in order on a fresh cluster; {scenario name: normalized transcript}."""
    runner = Runner(list(endpoints), etcdctl)
    scratch = tempfile.mkdtemp(prefix="raftviz-etcdctl-")
    try:
        runner.learn_members()
        runner.pin_leader()
        runner.set_variable("spare_peer", f"127.0.0.1:{free_loopback_port()}")
        runner.set_variable("tmp", scratch)
        return {s.name: runner.run_scenario(s) for s in scenarios}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
