"""Lesson actions: reading `crash 2`, `partition 1 | 2 3`, `put k v`, `run until ...` and
carrying them out through a `Runner` (the lesson player).

Each action runs as a generator: it yields None whenever the cluster moved (so the TUI can
draw a frame between the ticks of `run until`) and a string for each thing worth telling
the student. Headless, the same generator simply runs to its end, so both modes produce
the same commands in the same order. A failed action raises `ActionFailed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

from engine import observe as o
from engine.observe import ClusterView, CrashMode, MessageStatus

from .lesson_conditions import (
    Condition, ConditionError, Number, Verdict, name_ref, node_number, parse_number,
    same_kind, split_words,
)
from .lesson_expect import parse_condition

CLIENT_VERBS = ("put", "get", "del", "delete", "txn", "watch", "unwatch", "lease", "compact",
                "alarm")
WAIT_TICKS = 60          # a client request times out after 50 ticks, so it is answered by then
RUN_UNTIL_TICKS = 200
STEP_UNTIL_STEPS = 2000

Progress = Iterator[str | None]


class ActionError(ValueError):
    """An action that cannot be read; the text says why."""


class ActionFailed(Exception):
    """An action the cluster could not carry out (a refusal, or `run until` timing out)."""


class Runner(Protocol):
    def execute(self, command: o.Command) -> str: ...
    def view(self) -> ClusterView: ...
    def client(self, line: str, node: int, wait: bool, save_as: str | None) -> Progress: ...
    def value(self, name: str) -> str: ...
    def remember(self, name: str, value: str) -> None: ...
    def check(self, condition: Condition) -> Verdict: ...


@dataclass
class Action:
    """One parsed action: its words, how to run it, and what it refers to."""
    text: str
    run_fn: Callable[[Runner], Progress]
    nodes: tuple[int, ...] = ()          # node numbers it names, for `lesson check`
    uses: tuple[str, ...] = ()           # $names it needs
    defines: str | None = None           # the name `as NAME` gives
    adds_node: int | None = None         # add-learner: the id (0: the next free one)
    opens_watch: bool = False
    client: bool = False                 # a client request (its answer becomes the last one)
    condition: Condition | None = None   # run until

    def run(self, runner: Runner) -> Progress:
        return self.run_fn(runner)


# --- nodes that may be named `leader` ---------------------------------------------------


def _node_ref(word: str) -> int:
    """A node number, or 0 for `leader` (found when the action runs)."""
    return 0 if word.lower() in ("leader", "the-leader") else _node(word)


def _node(word: str) -> int:
    try:
        return node_number(word)
    except ConditionError as exc:
        raise ActionError(str(exc)) from None


def _resolve(runner: Runner, ref: int) -> int:
    if ref:
        return ref
    leader = runner.view().leader()
    if leader is None:
        raise ActionFailed("there is no leader right now")
    return leader.id


def _command(text: str, make: Callable[[Runner], o.Command], nodes=()) -> Action:
    def run(runner: Runner) -> Progress:
        yield runner.execute(make(runner))
    return Action(text, nodes=tuple(n for n in nodes if n), run_fn=run)


# --- reading an action ------------------------------------------------------------------


def parse_action(text: str) -> Action:
    text = text.strip()
    if not text:
        raise ActionError("an empty action")
    head = text.split(None, 1)[0].lower()
    if head.startswith("@") or head in CLIENT_VERBS or head == "send":
        return _client_action(text)
    words = _words(text)
    low = [w.lower() for w in words]
    parser = _PARSERS.get(" ".join(low[:2])) or _PARSERS.get(low[0])
    if parser is None:
        known = ", ".join(sorted(set(_PARSERS) | {"put", "get", "txn", "watch", "lease"}))
        raise ActionError(f"unknown action {words[0]!r}; known actions: {known}")
    try:
        return parser(text, words, low)
    except (IndexError, ValueError) as exc:
        if isinstance(exc, ActionError):
            raise
        raise ActionError(f"cannot read {text!r}: {exc}") from None


def _words(text: str) -> list[str]:
    try:
        return split_words(text)
    except ConditionError as exc:
        raise ActionError(str(exc)) from None


def _client_action(text: str) -> Action:
    body, wait = text, True
    if body.lower() == "send" or body.lower().startswith("send "):
        wait, body = False, body[4:].strip()
    node = 0
    if body.startswith("@"):
        head, _, body = body.partition(" ")
        node = _node(head[1:])
    save_as = None
    m = re.search(r"\s+as\s+\$?([A-Za-z_][\w-]*)\s*$", body)
    if m:
        save_as, body = m.group(1), body[:m.start()]
    _check_client(body)
    uses = tuple(re.findall(r"\$([A-Za-z_][\w-]*)", body))

    def run(runner: Runner) -> Progress:
        yield from runner.client(body, node, wait, save_as)
    opens = body.split()[0].lower() == "watch"
    return Action(text, nodes=(node,) if node else (), uses=uses, defines=save_as,
                  opens_watch=opens, client=True, run_fn=run)


def _check_client(line: str) -> None:
    words = line.split()
    if not words:
        raise ActionError("a client request is missing after `send` or `@N`")
    verb, args = words[0].lower(), [w for w in words[1:] if not w.startswith("--")]
    need = {"put": 2, "get": 1, "del": 1, "delete": 1, "watch": 1, "unwatch": 1,
            "lease": 1, "compact": 1, "txn": 3, "alarm": 1}.get(verb)
    if need is None:
        raise ActionError(f"unknown client command {words[0]!r}; the client knows "
                          f"{', '.join(CLIENT_VERBS)}")
    if len(args) < need:
        raise ActionError(f"`{verb}` needs {need} argument{'s' if need > 1 else ''}: {line!r}")
    if verb == "txn" and " then " not in f" {line} ":
        raise ActionError(f"a txn needs `then`: {line!r}")
    if verb == "lease" and args[0] not in ("grant", "revoke", "keep-alive", "timetolive",
                                           "list"):
        raise ActionError(f"unknown lease command {args[0]!r}; use grant, revoke, "
                          f"keep-alive, timetolive or list")
    if verb == "alarm" and args[0] not in ("list", "disarm"):
        raise ActionError(f"unknown alarm command {args[0]!r}; use alarm list or "
                          f"alarm disarm")


def _count_arg(low: list[str], default: int = 1) -> int:
    if len(low) < 2:
        return default
    if not low[1].isdigit() or not 1 <= int(low[1]) <= 10_000:
        raise ActionError(f"{low[1]!r} is not a count from 1 to 10000")
    return int(low[1])


def _tick(text, words, low) -> Action:
    count = _count_arg(low)
    kind = o.Tick if low[0] == "tick" else o.Step
    return _command(text, lambda r: kind(count))


def _hold(text, words, low) -> Action:
    if low[1:] not in (["on"], ["off"]):
        raise ActionError("write `hold on` or `hold off`")
    return _command(text, lambda r: o.Hold(low[1] == "on"))


def _groups(text: str) -> list[tuple[int, ...]]:
    groups = [tuple(_node(w) for w in part.replace(",", " ").split())
              for part in text.split("|")]
    if len(groups) < 2 or not all(groups):
        raise ActionError("write groups separated by |, e.g. partition 1 | 2 3")
    flat = [n for g in groups for n in g]
    if len(flat) != len(set(flat)):
        raise ActionError("a node may be in only one group")
    return groups


def _partition(text, words, low) -> Action:
    groups = _groups(text.split(None, 1)[1] if len(words) > 1 else "")
    nodes = tuple(n for g in groups for n in g)
    return _command(text, lambda r: o.Partition.groups(*groups), nodes)


def _isolate(text, words, low) -> Action:
    if len(words) != 2:
        raise ActionError("write e.g. isolate 2 (or isolate leader)")
    ref = _node_ref(words[1])

    def make(r: Runner) -> o.Command:
        node = _resolve(r, ref)
        others = tuple(n.id for n in r.view().nodes if n.id != node and not n.removed)
        return o.Partition.groups((node,), others)
    return _command(text, make, (ref,))


def _cut(text, words, low) -> Action:
    links: list[tuple[int, int]] = []
    for word in words[1:]:
        m = re.fullmatch(r"(\w+)\s*(<->|->|<-|-)\s*(\w+)", word)
        if not m:
            raise ActionError(f"cannot read link {word!r}; write 1->2 (one way) or 1<->2")
        a, arrow, b = _node(m.group(1)), m.group(2), _node(m.group(3))
        links += {"->": [(a, b)], "<-": [(b, a)]}.get(arrow, [(a, b), (b, a)])
    if not links:
        raise ActionError("name at least one link, e.g. cut 1->2")
    nodes = tuple(n for link in links for n in link)
    return _command(text, lambda r: o.Partition(tuple(links)), nodes)


def _crash(text, words, low) -> Action:
    if len(words) not in (2, 3):
        raise ActionError("write e.g. crash 2, crash 2 lose-unsynced, crash 2 torn or "
                          "crash leader wipe")
    ref = _node_ref(words[1])
    modes = {m.value: m for m in CrashMode}
    mode = modes.get(low[2]) if len(low) == 3 else CrashMode.KEEP_DISK
    if mode is None:
        raise ActionError(f"unknown crash mode {words[2]!r}; use "
                          f"{', '.join(m.value for m in CrashMode)}")
    return _command(text, lambda r: o.Crash(_resolve(r, ref), mode), (ref,))


RAFT_FLAGS = {"pre-vote": "pre_vote", "prevote": "pre_vote", "check-quorum": "check_quorum",
              "checkquorum": "check_quorum"}


def _set(text, words, low) -> Action:
    """`set pre-vote off`, `set check-quorum on`, or both at once."""
    pairs = [w for w in " ".join(low[1:]).replace(",", " ").split() if w != "and"]
    flags = dict(zip(pairs[::2], pairs[1::2]))
    if not flags or len(pairs) % 2 or set(flags) - set(RAFT_FLAGS) or \
            set(flags.values()) - {"on", "off"}:
        raise ActionError("write e.g. set pre-vote off or set pre-vote on, check-quorum on")
    values = {RAFT_FLAGS[name]: value == "on" for name, value in flags.items()}
    return _command(text, lambda r: o.SetRaftFlags(**values))


def _one_node(kind: Callable[[int], o.Command], allow_leader: bool = True):
    def parse(text, words, low) -> Action:
        rest = [w for w in words[1:] if w.lower() not in ("to", "node", "leadership")]
        if len(rest) != 1:
            raise ActionError(f"write e.g. {low[0]} 2")
        ref = _node_ref(rest[0]) if allow_leader else _node(rest[0])
        return _command(text, lambda r: kind(_resolve(r, ref)), (ref,))
    return parse


def _skew(text, words, low) -> Action:
    if len(words) != 3 or not re.fullmatch(r"\d+%?", words[2]):
        raise ActionError("write e.g. skew 2 200% (the clock runs twice as fast)")
    ref, rate = _node_ref(words[1]), int(words[2].rstrip("%"))
    return _command(text, lambda r: o.SkewClock(_resolve(r, ref), rate), (ref,))


def _add_learner(text, words, low) -> Action:
    rest = words[2:] if low[0] == "add" else words[1:]
    node = _node(rest[0]) if rest else 0
    action = _command(text, lambda r: o.AddLearner(node), (node,))
    action.adds_node = node
    return action


def _network(text, words, low) -> Action:
    m = re.fullmatch(r"network\s+delay\s+(\d+)\s*(?:-\s*(\d+))?\s*(?:ms)?"
                     r"(?:\s+drop\s+(\d+)%)?(?:\s+duplicate\s+(\d+)%)?\s*(fifo|reorder)?",
                     " ".join(low))
    if not m:
        raise ActionError("write e.g. network delay 5-25 ms drop 10% duplicate 0% fifo")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    drop, dup = int(m.group(3) or 0) / 100, int(m.group(4) or 0) / 100
    reorder = m.group(5) != "fifo"
    return _command(text, lambda r: o.SetNetwork(lo, hi, drop, dup, reorder))


def _disk(text, words, low) -> Action:
    m = re.fullmatch(r"disk\s+(?:fsync\s+)?(\d+)\s*(?:ms)?", " ".join(low))
    if not m:
        raise ActionError("write e.g. disk fsync 30 ms")
    return _command(text, lambda r: o.SetDisk(int(m.group(1))))


def _deliver(text, words, low) -> Action:
    drop = low[0] == "drop"
    if len(low) < 2:
        raise ActionError(f"write e.g. {low[0]} MsgVote, {low[0]} MsgApp to 3 or deliver all")
    kind = None if low[1] == "all" else words[1]
    frm = to = 0
    rest = low[2:]
    while rest:
        if rest[0] not in ("from", "to") or len(rest) < 2:
            raise ActionError(f"cannot read {' '.join(rest)!r}; say from N or to N")
        frm, to = (_node(rest[1]), to) if rest[0] == "from" else (frm, _node(rest[1]))
        rest = rest[2:]

    def run(runner: Runner) -> Progress:
        yield from _deliver_held(runner, kind, frm, to, drop)
    return Action(text, nodes=tuple(n for n in (frm, to) if n), run_fn=run)


def _deliver_held(runner: Runner, kind: str | None, frm: int, to: int, drop: bool) -> Progress:
    chosen = [m for m in runner.view().messages if m.status is MessageStatus.HELD
              and (kind is None or same_kind(m.type, kind))
              and frm in (0, m.frm) and to in (0, m.to)]
    if not chosen:
        raise ActionFailed(f"no held {kind or 'message'} matches")
    for m in chosen:
        if runner.view().message(m.id) is not None:
            yield runner.execute(o.Drop(m.id) if drop else o.Deliver(m.id))


def _run_until(text, words, low) -> Action:
    by_step = low[0] == "step"
    unit = "steps" if by_step else "ticks"
    limit = STEP_UNTIL_STEPS if by_step else RUN_UNTIL_TICKS
    body = text.split(None, 2)[2] if len(words) > 2 else ""
    m = re.search(r"\s+within\s+(\d+)\s*(ticks?|steps?|events?)?\s*$", body, re.I)
    if m:
        limit, body = int(m.group(1)), body[:m.start()]
    try:
        condition = parse_condition(body)
    except ConditionError as exc:
        raise ActionError(str(exc)) from None

    def run(runner: Runner) -> Progress:
        yield from _until(runner, condition, limit, by_step, unit)
    refs = condition.refs
    return Action(text, nodes=refs.nodes, uses=refs.names, condition=condition,
                  run_fn=run)


def _until(runner: Runner, condition: Condition, limit: int, by_step: bool,
           unit: str) -> Progress:
    for done in range(limit + 1):
        verdict = runner.check(condition)
        if verdict.ok:
            yield f"after {done} {unit[:-1] if done == 1 else unit}: {verdict.actual}"
            return
        if done == limit:
            break
        runner.execute(o.Step() if by_step else o.Tick())
        yield None
    raise ActionFailed(f"still not true after {limit} {unit}: {verdict.actual}")


def _remember(text, words, low) -> Action:
    if "as" not in low[1:] or low[-2] != "as":
        raise ActionError("write e.g. remember db size on node 1 as before")
    try:
        number, rest = parse_number(words[1:-2])
    except ConditionError as exc:
        raise ActionError(str(exc)) from None
    if rest or number.literal is not None or number.every:
        raise ActionError("remember one quantity, e.g. remember revision as start")
    name = name_ref(words[-1])

    def run(runner: Runner) -> Progress:
        value = _single(runner, number)
        runner.remember(name, str(value))
        yield f"${name} = {value}"
    return Action(text, nodes=(number.node,) if number.node else (), defines=name,
                  uses=(number.name,) if number.name else (), run_fn=run)


def _single(runner: Runner, number: Number) -> int:
    return number.values(_ProbeOf(runner))[0][1]


class _ProbeOf:
    """A runner seen as a condition's probe (for `remember`, which reads one quantity)."""
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def view(self) -> ClusterView:
        return self.runner.view()

    def value(self, name: str) -> str:
        return self.runner.value(name)


_PARSERS: dict[str, Callable[[str, list[str], list[str]], Action]] = {
    "tick": _tick, "step": _tick, "hold": _hold, "partition": _partition,
    "isolate": _isolate, "cut": _cut, "heal": lambda t, w, lw: _command(t, lambda r: o.Heal()),
    "crash": _crash, "restart": _one_node(o.Restart, allow_leader=False),
    "pause": _one_node(o.PauseNode), "resume": _one_node(lambda n: o.PauseNode(n, False)),
    "skew": _skew, "campaign": _one_node(o.Campaign, allow_leader=False),
    "transfer": _one_node(o.TransferLeader, allow_leader=False),
    "add-learner": _add_learner, "add learner": _add_learner,
    "promote": _one_node(o.Promote, allow_leader=False),
    "remove": _one_node(o.RemoveMember), "snapshot": _one_node(o.Snapshot),
    "defrag": _one_node(o.Defrag), "network": _network, "disk": _disk,
    "deliver": _deliver, "drop": _deliver, "run until": _run_until,
    "step until": _run_until, "remember": _remember, "set": _set,
}
