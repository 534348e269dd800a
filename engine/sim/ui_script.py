"""Scenario files: seed, size and options, then the commands of a session, one per line.

    # raftviz scenario
    seed 7
    nodes 3
    quota 1000000
    pre-vote off
    tick 12
    hold on
    deliver 14
    client @1 put greeting hello
    partition 1>2 2>1
    crash 2 lose-unsynced
    flags pre-vote on check-quorum on

`command_line(cmd)` and `parse_command(line)` convert both ways; replaying the lines from
the seed reproduces the session exactly. Undo, redo and go-to are moves in a session's
history, not part of it, so they never appear in a file.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from engine import observe as o
from engine.observe import CrashMode

HEADER = "# raftviz scenario: a seed, a cluster size, then one command per line"


class ScriptError(ValueError):
    """A line that is not a command; the text names the line."""


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: int
    nodes: int
    commands: tuple[o.Command, ...]
    quota_bytes: int | None = None
    pre_vote: bool = True
    check_quorum: bool = True


def _links(links: tuple[tuple[int, int], ...]) -> str:
    return " ".join(f"{a}>{b}" for a, b in links)


def command_line(cmd: o.Command) -> str:
    """The one-line form of a recordable command."""
    match cmd:
        case o.Tick(count) | o.Step(count):
            name = "tick" if isinstance(cmd, o.Tick) else "step"
            return name if count == 1 else f"{name} {count}"
        case o.Hold(on):
            return f"hold {'on' if on else 'off'}"
        case o.Deliver(msg_id) | o.Drop(msg_id):
            return f"{'deliver' if isinstance(cmd, o.Deliver) else 'drop'} {msg_id}"
        case o.DeliverAll():
            return "deliver-all"
        case o.Partition(links):
            return f"partition {_links(links)}"
        case o.Heal():
            return "heal"
        case o.SetNetwork(lo, hi, drop, dup, reorder):
            return f"network {lo} {hi} {drop:g} {dup:g} {'reorder' if reorder else 'fifo'}"
        case o.SetDisk(ms):
            return f"disk {ms}"
        case o.Crash(node, mode):
            return f"crash {node} {mode.value}"
        case o.SetRaftFlags(pre_vote, check_quorum):
            return _flags_line(pre_vote, check_quorum)
        case o.PauseNode(node, paused):
            return f"{'pause' if paused else 'resume'} {node}"
        case o.SkewClock(node, rate):
            return f"skew {node} {rate}"
        case o.Client(line, node):
            return f"client @{node} {line}" if node else f"client {line}"
        case o.Compact(revision):
            return f"compact {revision}"
    return _simple_line(cmd)


def _flags_line(pre_vote: bool | None, check_quorum: bool | None) -> str:
    words = [f"{name} {'on' if value else 'off'}"
             for name, value in (("pre-vote", pre_vote), ("check-quorum", check_quorum))
             if value is not None]
    return " ".join(["flags"] + words)


def _parse_flags(args: list[str]) -> o.SetRaftFlags:
    pairs = dict(zip(args[::2], args[1::2]))
    if not pairs or len(args) % 2 or set(pairs) - {"pre-vote", "check-quorum"}:
        raise ValueError("flags takes pre-vote on|off and check-quorum on|off")
    return o.SetRaftFlags(**{name.replace("-", "_"): _on_off(value)
                             for name, value in pairs.items()})


_SIMPLE = {o.Restart: "restart", o.Campaign: "campaign", o.TransferLeader: "transfer",
           o.AddLearner: "add-learner", o.Promote: "promote", o.RemoveMember: "remove",
           o.Snapshot: "snapshot", o.Defrag: "defrag"}


def _simple_line(cmd: o.Command) -> str:
    name = _SIMPLE.get(type(cmd))
    if name is None:
        raise ScriptError(f"{type(cmd).__name__} is not recorded in scenarios")
    value = getattr(cmd, "to", None) if isinstance(cmd, o.TransferLeader) else cmd.node
    return f"{name} {value}"


def parse_command(line: str) -> o.Command:
    words = shlex.split(line)
    if not words:
        raise ScriptError("empty line")
    name, args = words[0], words[1:]
    try:
        return _parse(name, args, line)
    except (IndexError, ValueError) as exc:
        raise ScriptError(f"cannot read {line!r}: {exc}") from None


def _parse(name: str, args: list[str], line: str) -> o.Command:
    ints = [int(a) for a in args if a.lstrip("-").isdigit()]
    if name in ("tick", "step"):
        return (o.Tick if name == "tick" else o.Step)(ints[0] if ints else 1)
    if name == "hold":
        return o.Hold(args[0] == "on")
    if name in ("deliver", "drop"):
        return (o.Deliver if name == "deliver" else o.Drop)(ints[0])
    if name == "deliver-all":
        return o.DeliverAll()
    if name == "partition":
        return o.Partition(tuple(tuple(int(x) for x in a.split(">")) for a in args))
    if name == "heal":
        return o.Heal()
    if name == "network":
        return o.SetNetwork(int(args[0]), int(args[1]), float(args[2]), float(args[3]),
                            args[4] == "reorder")
    if name == "disk":
        return o.SetDisk(ints[0])
    if name == "crash":
        return o.Crash(int(args[0]), CrashMode(args[1]) if len(args) > 1 else
                       CrashMode.KEEP_DISK)
    if name == "flags":
        return _parse_flags(args)
    if name in ("pause", "resume"):
        return o.PauseNode(ints[0], name == "pause")
    if name == "skew":
        return o.SkewClock(ints[0], ints[1])
    if name == "client":
        return _client(line)
    if name == "compact":
        return o.Compact(ints[0] if ints else 0)
    if name == "transfer":
        return o.TransferLeader(ints[0])
    kinds = {v: k for k, v in _SIMPLE.items()}
    if name in kinds:
        return kinds[name](ints[0] if ints else 0) if name == "add-learner" else \
            kinds[name](ints[0])
    raise ValueError(f"unknown command {name!r}")


def _client(line: str) -> o.Client:
    rest = line.strip()[len("client"):].strip()
    if rest.startswith("@"):
        head, _, body = rest.partition(" ")
        return o.Client(body.strip(), int(head[1:]))
    return o.Client(rest)


def dump(scenario: Scenario) -> str:
    lines = [HEADER, f"seed {scenario.seed}", f"nodes {scenario.nodes}"]
    if scenario.quota_bytes is not None:
        lines.append(f"quota {scenario.quota_bytes}")
    lines += [f"{name} off" for name, on in (("pre-vote", scenario.pre_vote),
                                               ("check-quorum", scenario.check_quorum))
              if not on]
    lines += [command_line(c) for c in scenario.commands]
    return "\n".join(lines) + "\n"


def load(text: str) -> Scenario:
    header: dict[str, int | bool] = {"seed": 1, "nodes": 3}
    commands = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        try:
            if word in ("seed", "nodes", "quota"):
                header[word] = int(rest)
            elif word in ("pre-vote", "check-quorum"):
                header[word] = _on_off(rest)
            else:
                commands.append(parse_command(line))
        except (ScriptError, ValueError) as exc:
            raise ScriptError(f"line {number}: {exc}") from None
    return Scenario(header["seed"], header["nodes"], tuple(commands), header.get("quota"),
                    header.get("pre-vote", True), header.get("check-quorum", True))


def _on_off(word: str) -> bool:
    if word.strip() not in ("on", "off"):
        raise ValueError(f"write on or off, not {word.strip()!r}")
    return word.strip() == "on"


def read_file(path: str | Path) -> Scenario:
    return load(Path(path).read_text())


def write_file(path: str | Path, scenario: Scenario) -> None:
    Path(path).write_text(dump(scenario))
