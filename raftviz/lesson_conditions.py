"""Lesson expectations: reading `leader is 1`, `commit >= 5 on all nodes`, `read k returns v`
and judging them against a cluster.

A condition is parsed once, when the lesson is loaded, into a small object that says what it
refers to (nodes, names, watches, the last answer) so `lesson check` can reject one that can
never be evaluated. `evaluate(probe)` gives a `Verdict`: whether it holds, and what was
actually there, in words. Only `read ...` acts on the cluster (it sends a request); every
other condition just looks at a `ClusterView`.
"""

from __future__ import annotations

import abc
import operator
import re
import shlex
from dataclasses import dataclass
from typing import Callable, Protocol

from engine.observe import ClusterView, MessageStatus, NodeView


class ConditionError(ValueError):
    """An expectation that cannot be read; the text says why, for `FILE:LINE: message`."""


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    actual: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of the last client request: its status (done, failed, pending) and text."""
    line: str
    status: str
    text: str
    request_id: str = ""


class Probe(Protocol):
    """What a condition may ask of the lesson player."""
    def view(self) -> ClusterView: ...
    def value(self, name: str) -> str: ...
    def last_answer(self) -> Answer | None: ...
    def read(self, line: str, node: int) -> Answer: ...


@dataclass(frozen=True)
class Refs:
    """What a condition refers to, for `lesson check`."""
    nodes: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    watches: tuple[int, ...] = ()
    answer: bool = False        # needs an earlier client request
    acts: bool = False          # sends a request, so it cannot be polled


class Condition(abc.ABC):
    """One parsed expectation: its words as written, and what it refers to."""
    text: str = ""
    refs: Refs = Refs()

    @abc.abstractmethod
    def evaluate(self, probe: Probe) -> Verdict:
        """Whether it holds now, and what was actually there."""


# --- words ------------------------------------------------------------------------------

OPS: dict[str, Callable[[int, int], bool]] = {
    "is": operator.eq, "=": operator.eq, "==": operator.eq, "is not": operator.ne,
    "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
    "<=": operator.le, "is at least": operator.ge, "at least": operator.ge,
    "is at most": operator.le, "at most": operator.le, "is above": operator.gt,
    "is below": operator.lt,
}
_OP_WORDS = sorted((tuple(k.split()) for k in OPS), key=len, reverse=True)

ROLES = ("leader", "follower", "candidate", "pre-candidate")
STATES = ROLES + ("down", "up", "running", "paused", "learner", "voter", "removed")


def split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise ConditionError(f"cannot read {text!r}: {exc}") from None


def node_number(word: str) -> int:
    """`2`, `n2` or `node2` as a node id."""
    m = re.fullmatch(r"(?:n|node)?(\d+)", word.lower())
    if not m or not 1 <= int(m.group(1)) <= 99:
        raise ConditionError(f"{word!r} is not a node number")
    return int(m.group(1))


def take_op(low: list[str], start: int) -> tuple[str, int] | None:
    """The comparison operator starting at `low[start]`, and the index after it."""
    for words in _OP_WORDS:
        if tuple(low[start:start + len(words)]) == words:
            return " ".join(words), start + len(words)
    return None


def find_op(low: list[str]) -> tuple[int, str, int] | None:
    for i in range(len(low)):
        found = take_op(low, i)
        if found:
            return i, found[0], found[1]
    return None


def name_ref(word: str) -> str:
    return word[1:] if word.startswith("$") else word


# --- numbers: quantities, names and literals --------------------------------------------

_QUANTITIES: dict[tuple[str, ...], str] = {
    ("term",): "term", ("commit",): "commit", ("committed",): "commit",
    ("commit", "index"): "commit", ("committed", "index"): "commit",
    ("applied",): "applied", ("applied", "index"): "applied",
    ("last", "index"): "last_index", ("log", "index"): "last_index",
    ("last", "log", "index"): "last_index", ("first", "index"): "first_index",
    ("snapshot", "index"): "snapshot_index", ("revision",): "revision",
    ("compact", "revision"): "compact_revision", ("compacted", "revision"): "compact_revision",
    ("db", "size"): "db_size", ("database", "size"): "db_size",
    ("db", "in", "use"): "db_in_use", ("database", "in", "use"): "db_in_use",
    ("keys",): "keys", ("leases",): "leases", ("alarms",): "alarms",
    ("held", "messages"): "held",
    ("messages", "held"): "held", ("messages", "in", "flight"): "in_flight",
    ("time",): "time", ("unsynced", "entries"): "syncing", ("syncing",): "syncing",
}
_PER_NODE = {"term", "commit", "applied", "last_index", "first_index", "snapshot_index",
             "revision", "db_size", "db_in_use", "syncing"}
_SHOWN = {"syncing": "unsynced entries", "held": "held messages",
          "in_flight": "messages in flight"}
_LONGEST_FIRST = sorted(_QUANTITIES, key=len, reverse=True)


@dataclass(frozen=True)
class Number:
    """One side of a comparison: a literal, a remembered `$name`, or a quantity."""
    literal: int | None = None
    name: str | None = None
    quantity: str | None = None
    kind: str = ""                 # message kind, for `held MsgVote`
    node: int = 0                  # 0: the cluster's (the leader's)
    every: bool = False            # on all running nodes
    key: str = ""                  # for `key K mod revision` (quantity: the field)

    def words(self) -> str:
        if self.literal is not None:
            return str(self.literal)
        if self.name is not None:
            return f"${self.name}"
        if self.key:
            return f"key {self.key} {self.quantity.replace('_', ' ')}"
        what = _SHOWN.get(self.quantity, self.quantity.replace("_", " "))
        if self.kind:
            what = f"{'held' if self.quantity == 'held' else 'in-flight'} {self.kind}"
        return what + (f" on node {self.node}" if self.node else
                       " on all nodes" if self.every else "")

    def values(self, probe: Probe) -> list[tuple[int, int]]:
        """(node, value) pairs; node 0 for a cluster-wide value."""
        if self.literal is not None:
            return [(0, self.literal)]
        if self.name is not None:
            return [(0, _int_value(probe.value(self.name), self.name))]
        view = probe.view()
        if self.key:
            return [(0, key_field(view, self.key, self.quantity))]
        if self.every:
            return [(n.id, node_quantity(n, self.quantity)) for n in running(view)]
        if self.node:
            node = view.node(self.node)
            if node is None:
                raise ConditionError(f"there is no node {self.node}")
            return [(self.node, node_quantity(node, self.quantity))]
        return [(0, cluster_quantity(view, self.quantity, self.kind))]


def _int_value(text: str, name: str) -> int:
    try:
        return int(text, 0) if text.startswith("0x") else int(text)
    except ValueError:
        raise ConditionError(f"${name} is {text!r}, not a number") from None


KEY_FIELDS = {"version": "version", "create revision": "create_revision",
              "create_revision": "create_revision", "mod revision": "mod_revision",
              "mod_revision": "mod_revision", "lease": "lease"}


def key_field(view: ClusterView, key: str, attribute: str) -> int:
    """A number of a key in the keyspace; 0 for a key that does not exist, as etcd's
    compares treat it."""
    kv = next((k for k in view.keyspace if k.key == key), None)
    return getattr(kv, attribute) if kv is not None else 0


def parse_key_field(words: list[str]) -> tuple[Number, list[str]] | None:
    """`key K mod revision` at the start of `words`."""
    low = [w.lower() for w in words]
    if low[:1] != ["key"] or len(words) < 3:
        return None
    for name in sorted(KEY_FIELDS, key=lambda n: -len(n.split())):
        size = len(name.split())
        if " ".join(low[2:2 + size]) == name:
            return Number(quantity=KEY_FIELDS[name], key=words[1]), words[2 + size:]
    return None


def running(view: ClusterView) -> list[NodeView]:
    return [n for n in view.nodes if n.up and not n.removed]


def node_quantity(node: NodeView, quantity: str) -> int:
    return getattr(node, quantity)


def cluster_quantity(view: ClusterView, quantity: str, kind: str = "") -> int:
    """A cluster-wide value: the leader's, or the highest among running nodes."""
    if quantity in _PER_NODE and quantity != "revision":
        leader = view.leader()
        if leader is not None:
            return node_quantity(leader, quantity)
        return max((node_quantity(n, quantity) for n in running(view)), default=0)
    held = [m for m in view.messages if m.status is MessageStatus.HELD]
    simple = {
        "revision": lambda: view.revision, "compact_revision": lambda: view.compact_revision,
        "keys": lambda: len(view.keyspace), "leases": lambda: len(view.leases),
        "alarms": lambda: len(view.alarms),
        "time": lambda: view.time,
        "held": lambda: sum(1 for m in held if not kind or same_kind(m.type, kind)),
        "in_flight": lambda: sum(1 for m in view.messages
                                 if m.status is MessageStatus.IN_FLIGHT
                                 and (not kind or same_kind(m.type, kind))),
    }
    return simple[quantity]()


def same_kind(message_type: str, kind: str) -> bool:
    """`MsgVote`, `msgvote` and `vote` all name MsgVote (and only it)."""
    want = kind.lower()
    want = want if want.startswith("msg") else "msg" + want
    return message_type.lower() == want


def parse_number(words: list[str]) -> tuple[Number, list[str]]:
    """A number at the start of `words`, and the words after it."""
    if not words:
        raise ConditionError("a number or a quantity is missing")
    first = words[0]
    if re.fullmatch(r"-?\d+", first):
        return Number(literal=int(first)), words[1:]
    if first.startswith("$") and len(first) > 1:
        return Number(name=first[1:]), words[1:]
    key_number = parse_key_field(words)
    if key_number is not None:
        return key_number
    low = [w.lower() for w in words]
    if low[0] in ("held", "in-flight") and len(low) > 1 and low[1] != "messages":
        return Number(quantity=low[0].replace("-", "_"), kind=words[1]), words[2:]
    for key in _LONGEST_FIRST:
        if tuple(low[:len(key)]) == key:
            quantity = _QUANTITIES[key]
            node, every, rest = parse_scope(words[len(key):])
            if (node or every) and quantity not in _PER_NODE:
                raise ConditionError(f"{' '.join(key)} is the cluster's, not a node's")
            return Number(quantity=quantity, node=node, every=every), rest
    raise ConditionError(f"{' '.join(words)!r} is not something raftviz can measure "
                         f"(try term, commit, applied, last index, revision, db size, ...)")


def parse_scope(words: list[str]) -> tuple[int, bool, list[str]]:
    """`on node 2`, `on all nodes`, `everywhere`: (node, every, the words after)."""
    low = [w.lower() for w in words]
    if low[:1] == ["everywhere"]:
        return 0, True, words[1:]
    if low[:1] in (["on"], ["of"], ["at"]) and len(low) > 1:
        if low[1] in ("all", "every", "each"):
            skip = 3 if len(low) > 2 and low[2] in ("nodes", "node") else 2
            return 0, True, words[skip:]
        if low[1] == "node" and len(low) > 2:
            return node_number(words[2]), False, words[3:]
        if re.fullmatch(r"n?\d+", low[1]):
            return node_number(words[1]), False, words[2:]
    return 0, False, words


# --- comparisons ------------------------------------------------------------------------


class Compare(Condition):
    def __init__(self, text: str, left: Number, op: str, right: Number) -> None:
        self.text, self.left, self.op, self.right = text, left, op, right
        nodes = tuple(n for n in (left.node, right.node) if n)
        names = tuple(n.name for n in (left, right) if n.name)
        self.refs = Refs(nodes=nodes, names=names)

    def evaluate(self, probe: Probe) -> Verdict:
        right = self.right.values(probe)
        if len(right) != 1:
            raise ConditionError("only the left side may say 'on all nodes'")
        target = right[0][1]
        left = self.left.values(probe)
        ok = bool(left) and all(OPS[self.op](v, target) for _, v in left)
        return Verdict(ok, self._shown(left, target))

    def _shown(self, left: list[tuple[int, int]], target: int) -> str:
        what = self.left.words()
        if self.left.every:
            what = _SHOWN.get(self.left.quantity, self.left.quantity.replace("_", " "))
            values = ", ".join(f"node {n}: {v}" for n, v in left) or "no node is running"
            text = f"{what}: {values}"
        else:
            text = f"{what} is {left[0][1]}"
        if self.right.literal is None:
            text += f"; {self.right.words()} is {target}"
        return text


def parse_compare(text: str, words: list[str]) -> Condition:
    low = [w.lower() for w in words]
    found = find_op(low)
    if found is None:
        raise ConditionError(f"cannot read expectation {text!r}: no comparison "
                             f"(is, is not, =, !=, <, <=, >, >=)")
    start, op, after = found
    left, rest = parse_number(words[:start])
    if rest:
        raise ConditionError(f"cannot read {' '.join(rest)!r} in {text!r}")
    right, rest = parse_number(words[after:])
    node, every, rest = parse_scope(rest)
    if rest:
        raise ConditionError(f"cannot read {' '.join(rest)!r} at the end of {text!r}")
    if node or every:
        if left.quantity not in _PER_NODE or left.node or left.every:
            raise ConditionError(f"{text!r}: say once which node, after the quantity")
        left = Number(quantity=left.quantity, node=node, every=every)
    return Compare(text, left, op, right)


# --- the leader, nodes and members ------------------------------------------------------


class LeaderIs(Condition):
    def __init__(self, text: str, node: int | None, negate: bool) -> None:
        self.text, self.node, self.negate = text, node, negate
        self.refs = Refs(nodes=(node,) if node else ())

    def evaluate(self, probe: Probe) -> Verdict:
        leader = probe.view().leader()
        actual = f"leader is {leader.id} (term {leader.term})" if leader else "no leader"
        if self.node is None:          # `there is a leader` / `there is no leader`
            return Verdict((leader is not None) != self.negate, actual)
        return Verdict((leader is not None and leader.id == self.node) != self.negate,
                       actual)


@dataclass(frozen=True)
class _StateTest:
    word: str

    def holds(self, n: NodeView) -> bool:
        w = self.word
        if w in ROLES:
            return n.up and not n.removed and n.role == w
        return {"down": not n.up, "up": n.up, "running": n.up and not n.removed,
                "paused": n.paused, "learner": n.learner, "voter": n.voter,
                "removed": n.removed}[w]


class NodeIs(Condition):
    def __init__(self, text: str, node: int, state: str, negate: bool) -> None:
        self.text, self.node, self.negate = text, node, negate
        self.test = _StateTest(state)
        self.refs = Refs(nodes=(node,))

    def evaluate(self, probe: Probe) -> Verdict:
        n = probe.view().node(self.node)
        if n is None:
            return Verdict(self.negate, f"there is no node {self.node}")
        kinds = "voter" if n.voter else "learner" if n.learner else "not a member"
        return Verdict(self.test.holds(n) != self.negate,
                       f"node {self.node} is {n.state_text}, {kinds}")


class MembersAre(Condition):
    def __init__(self, text: str, kind: str, nodes: tuple[int, ...]) -> None:
        self.text, self.kind, self.nodes = text, kind, nodes
        self.refs = Refs(nodes=nodes)

    def evaluate(self, probe: Probe) -> Verdict:
        attr = "voter" if self.kind == "voters" else "learner"
        have = tuple(n.id for n in probe.view().nodes if getattr(n, attr) and not n.removed)
        shown = " ".join(map(str, have)) or "none"
        return Verdict(sorted(have) == sorted(self.nodes), f"{self.kind}: {shown}")


def parse_leader(text: str, words: list[str], low: list[str]) -> Condition | None:
    joined = " ".join(low)
    if joined in ("there is a leader", "a leader exists", "leader elected",
                  "a leader is elected", "there is one leader"):
        return LeaderIs(text, None, negate=False)
    if joined in ("there is no leader", "no leader", "no leader exists"):
        return LeaderIs(text, None, negate=True)
    if low[:2] == ["leader", "is"]:
        negate = low[2:3] == ["not"]
        rest = words[3:] if negate else words[2:]
        if rest and rest[0].lower() == "node":
            rest = rest[1:]
        if len(rest) != 1:
            raise ConditionError(f"cannot read {text!r}; write e.g. leader is 2")
        return LeaderIs(text, node_number(rest[0]), negate)
    return None


def parse_node_state(text: str, words: list[str], low: list[str]) -> Condition | None:
    if low[:1] != ["node"] or len(low) < 4 or low[2] != "is":
        return None
    negate = low[3] == "not"
    rest = [w for w in low[4 if negate else 3:] if w not in ("a", "an", "the")]
    if len(rest) != 1 or rest[0] not in STATES:
        return None
    return NodeIs(text, node_number(words[1]), rest[0], negate)


def parse_members(text: str, words: list[str], low: list[str]) -> Condition | None:
    if len(low) < 2 or low[0] not in ("voters", "learners") or low[1] not in ("are", "is"):
        return None
    items = [w for part in words[2:] for w in part.split(",") if w]
    if items == ["none"]:
        items = []
    return MembersAre(text, low[0], tuple(node_number(w) for w in items))
