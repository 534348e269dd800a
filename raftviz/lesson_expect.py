"""Reading any lesson expectation, and the ones about the keyspace: keys, reads, watches,
leases, alarms and the answer to the last client request.

`parse_condition(text)` is the one entry point: it tries each form in turn (the cluster
forms live in lesson_conditions.py) and raises `ConditionError` with a sentence a teacher
can act on when none fits.
"""

from __future__ import annotations

from engine.observe import KeyView

from .lesson_conditions import (
    KEY_FIELDS, OPS, Condition, ConditionError, Probe, Refs, Verdict, name_ref,
    node_number, parse_compare, parse_leader, parse_members, parse_node_state, parse_scope,
    running, split_words, take_op,
)


def parse_condition(text: str) -> Condition:
    text = text.strip()
    words = split_words(text)
    if not words:
        raise ConditionError("an empty expectation")
    low = [w.lower() for w in words]
    if low[0] == "not" and len(words) > 1:
        return Not(text, parse_condition(text.split(None, 1)[1]))
    for form in (parse_leader, parse_node_state, parse_members, _parse_key, _parse_read,
                 _parse_watch, _parse_lease, _parse_alarm, _parse_answer):
        condition = form(text, words, low)
        if condition is not None:
            return condition
    try:
        return parse_compare(text, words)
    except ConditionError as exc:
        if str(exc).startswith("cannot read"):
            raise
        raise ConditionError(f"cannot read expectation {text!r}: {exc}") from None


class Not(Condition):
    def __init__(self, text: str, inner: Condition) -> None:
        self.text, self.inner, self.refs = text, inner, inner.refs

    def evaluate(self, probe: Probe) -> Verdict:
        verdict = self.inner.evaluate(probe)
        return Verdict(not verdict.ok, verdict.actual)


# --- keys in the keyspace (the leader's, as the Keyspace tab shows it) ------------------

_ABSENT = ("missing", "absent", "deleted", "gone")


class KeyHas(Condition):
    def __init__(self, text: str, key: str, field: str | None, op: str, value: str) -> None:
        self.text, self.key, self.field, self.op, self.value = text, key, field, op, value
        self.refs = Refs(names=(value[1:],) if value.startswith("$") else ())

    def evaluate(self, probe: Probe) -> Verdict:
        kv = next((k for k in probe.view().keyspace if k.key == self.key), None)
        if self.field is None and self.value in _ABSENT:
            return Verdict((kv is None) == (self.op == "is"), _key_text(self.key, kv))
        if kv is None:
            return Verdict(False, f"key {self.key} does not exist")
        want = probe.value(self.value[1:]) if self.value.startswith("$") else self.value
        if self.field is None:
            return Verdict(OPS[self.op](kv.value, want), _key_text(self.key, kv))
        have = getattr(kv, self.field)
        if self.field == "lease":      # lease ids are written in hex, as etcdctl prints them
            return Verdict(OPS[self.op](format(have, "x"), want.lower()),
                           f"{self.key}: lease {have:x}")
        try:
            ok = OPS[self.op](have, int(want))
        except ValueError:
            raise ConditionError(f"{want!r} is not a number") from None
        return Verdict(ok, f"{self.key}: {self.field.replace('_', ' ')} {have}")


def _key_text(key: str, kv: KeyView | None) -> str:
    if kv is None:
        return f"key {key} does not exist"
    return (f"{key} = {kv.value!r} (version {kv.version}, created at {kv.create_revision}, "
            f"modified at {kv.mod_revision})")


def _parse_key(text: str, words: list[str], low: list[str]) -> Condition | None:
    if low[:1] != ["key"] or len(words) < 3:
        return None
    key, rest, lrest = words[1], words[2:], low[2:]
    if lrest in (["exists"], ["is", "there"]):
        return KeyHas(text, key, None, "is not", "missing")
    for name, field in sorted(KEY_FIELDS.items(), key=lambda i: -len(i[0].split())):
        size = len(name.split())
        if " ".join(lrest[:size]) == name:
            found = take_op(lrest, size)
            if not found or found[1] != len(rest) - 1:
                raise ConditionError(f"cannot read {text!r}; write e.g. key {key} {name} is 2")
            return KeyHas(text, key, field, found[0], rest[-1])
    found = take_op(lrest, 0)
    if lrest[:2] == ["has", "value"]:
        found = ("is", 2)
    if not found or found[1] != len(rest) - 1 or found[0] not in ("is", "=", "==", "is not",
                                                                    "!="):
        raise ConditionError(f"cannot read {text!r}; write e.g. key {key} is hello, "
                             f"key {key} is missing or key {key} version is 2")
    return KeyHas(text, key, None, found[0], rest[-1])


# --- reads: a real client request, linearizable unless told otherwise -------------------


class Read(Condition):
    def __init__(self, text: str, line: str, node: int, key: str, want: str | None,
                 fails: bool) -> None:
        self.text, self.line, self.node, self.key = text, line, node, key
        self.want, self.fails = want, fails
        names = (want[1:],) if want and want.startswith("$") else ()
        self.refs = Refs(nodes=(node,) if node else (), names=names, acts=True)

    def evaluate(self, probe: Probe) -> Verdict:
        answer = probe.read(self.line, self.node)
        if answer.status != "done":
            text = answer.text or "no answer yet"
            return Verdict(self.fails and (self.want is None or self.want in text), text)
        if self.fails:
            return Verdict(False, f"it succeeded: {_one_line(answer.text)}")
        want = self.want
        if want is not None and want.startswith("$"):
            want = probe.value(want[1:])
        value = read_value(answer.text, self.key)
        shown = "no such key" if value is None else f"{self.key} = {value!r}"
        return Verdict(value == want if want != "nothing" else value is None, shown)


def read_value(answer: str, key: str) -> str | None:
    """The value of `key` in a get's answer (etcdctl prints key and value on two lines)."""
    lines = answer.splitlines()
    for i in range(0, len(lines) - 1, 2):
        if lines[i] == key:
            return lines[i + 1]
    return None


def _one_line(text: str) -> str:
    return " / ".join(line for line in text.splitlines() if line.strip())


def _parse_read(text: str, words: list[str], low: list[str]) -> Condition | None:
    if low[:1] not in (["read"], ["reading"]) or len(words) < 2:
        return None
    key, node, options, i = words[1], 0, [], 2
    while i < len(low) and low[i] not in ("returns", "gives", "fails", "is"):
        i, node = _read_option(text, words, low, i, node, options)
    if i >= len(low):
        raise ConditionError(f"cannot read {text!r}; end with `returns VALUE`, "
                             f"`returns nothing` or `fails`")
    line = " ".join(["get", key] + options)
    if low[i] == "fails":
        rest = words[i + 1:]
        if rest[:1] and rest[0].lower() == "with":
            rest = rest[1:]
        return Read(text, line, node, key, " ".join(rest) or None, fails=True)
    want = words[i + 1:]
    if len(want) != 1:
        raise ConditionError(f"cannot read {text!r}; quote a value with spaces")
    return Read(text, line, node, key, want[0] if want[0].lower() != "nothing" else "nothing",
                fails=False)


def _read_option(text: str, words: list[str], low: list[str], i: int, node: int,
                 options: list[str]) -> tuple[int, int]:
    word = low[i]
    if word in ("serializable", "serializably", "locally"):
        options.append("--consistency=s")
        return i + 1, node
    if word in ("linearizable", "linearizably"):
        return i + 1, node
    if word.startswith("@"):
        return i + 1, node_number(word[1:])
    if word in ("at", "on", "from") and i + 1 < len(low):
        if low[i + 1] == "node" and i + 2 < len(low):
            return i + 3, node_number(words[i + 2])
        if low[i + 1] in ("revision", "rev") and i + 2 < len(low):
            options.append(f"--rev={words[i + 2]}")
            return i + 3, node
    raise ConditionError(f"cannot read {words[i]!r} in {text!r}; a read may say "
                         f"`at node N`, `serializable` and `at revision R`")


# --- watches ----------------------------------------------------------------------------


class WatchHas(Condition):
    def __init__(self, text: str, watch: int, what: str, op: str = "is",
                 count: int = 0) -> None:
        self.text, self.watch, self.what, self.op, self.count = text, watch, what, op, count
        self.refs = Refs(watches=(watch,))

    def evaluate(self, probe: Probe) -> Verdict:
        w = next((w for w in probe.view().watches if w.id == self.watch), None)
        if w is None:
            return Verdict(False, f"there is no watch {self.watch}")
        state = "canceled" if w.canceled else "open"
        if w.compact_revision:
            state += f" (compacted at revision {w.compact_revision})"
        events = "event" if w.total_events == 1 else "events"
        actual = f"watch {w.id} on node {w.node}: {w.total_events} {events}, {state}"
        if self.what == "events":
            return Verdict(OPS[self.op](w.total_events, self.count), actual)
        if self.what == "compact":
            return Verdict(OPS[self.op](w.compact_revision, self.count), actual)
        return Verdict(w.canceled == (self.what == "canceled"), actual)


def _parse_watch(text: str, words: list[str], low: list[str]) -> Condition | None:
    if low[:1] != ["watch"] or len(low) < 3:
        return None
    watch = _watch_number(words[1])
    rest = low[2:]
    if rest in (["is", "canceled"], ["is", "cancelled"], ["was", "canceled"],
                ["was", "cancelled"]):
        return WatchHas(text, watch, "canceled")
    if rest in (["is", "open"], ["is", "not", "canceled"]):
        return WatchHas(text, watch, "open")
    if rest[:1] in (["received"], ["got"], ["saw"]) and rest[-1] in ("events", "event"):
        op, count = _count(text, rest[1:-1])
        return WatchHas(text, watch, "events", op, count)
    if rest[:2] == ["compact", "revision"]:
        op, count = _count(text, rest[2:])
        return WatchHas(text, watch, "compact", op, count)
    raise ConditionError(f"cannot read {text!r}; write e.g. watch 1 received 3 events, "
                         f"watch 1 is canceled or watch 1 compact revision is 5")


def _watch_number(word: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise ConditionError(f"{word!r} is not a watch number (watches count 1, 2, ...)")
    return int(word)


def _count(text: str, words: list[str]) -> tuple[str, int]:
    found = take_op(words, 0)
    op, start = found if found else ("is", 0)
    if len(words) != start + 1 or not words[start].isdigit():
        raise ConditionError(f"cannot read the number in {text!r}")
    return op, int(words[start])


# --- leases -----------------------------------------------------------------------------


class LeaseState(Condition):
    def __init__(self, text: str, name: str, alive: bool, number: tuple[str, int] | None):
        self.text, self.name, self.alive, self.number = text, name, alive, number
        self.refs = Refs(names=(name,))

    def evaluate(self, probe: Probe) -> Verdict:
        lease_id = probe.value(self.name)
        lease = next((x for x in probe.view().leases if x.hex_id == lease_id.lower()), None)
        if lease is None:
            return Verdict(not self.alive, f"lease {lease_id} is gone")
        left = "unknown (no leader)" if lease.remaining is None else f"{lease.remaining}s"
        actual = f"lease {lease_id} is alive: TTL {lease.ttl}s, {left} left"
        if self.number is None:
            return Verdict(self.alive, actual)
        op, count = self.number
        return Verdict(lease.remaining is not None and OPS[op](lease.remaining, count), actual)


def _parse_lease(text: str, words: list[str], low: list[str]) -> Condition | None:
    if low[:1] != ["lease"] or len(low) < 3:
        return None
    name, rest = name_ref(words[1]), low[2:]
    if rest in (["expired"], ["has", "expired"], ["is", "expired"], ["is", "gone"],
                ["was", "revoked"], ["is", "revoked"]):
        return LeaseState(text, name, False, None)
    if rest in (["is", "alive"], ["is", "live"], ["exists"]):
        return LeaseState(text, name, True, None)
    if rest[:1] in (["remaining"], ["ttl"]):
        return LeaseState(text, name, True, _count(text, rest[1:]))
    raise ConditionError(f"cannot read {text!r}; write e.g. lease {name} expired, "
                         f"lease {name} is alive or lease {name} remaining >= 3")


# --- alarms -----------------------------------------------------------------------------

ALARM_TYPES = ("NOSPACE", "CORRUPT")
_RAISED = {("is", "raised"): True, ("is", "active"): True, ("is", "not", "raised"): False,
           ("is", "not", "active"): False, ("is", "cleared"): False,
           ("is", "disarmed"): False}


class AlarmRaised(Condition):
    """`alarm NOSPACE is raised`: by any member, as the keyspace node (or the node named, or
    every running node) knows it."""

    def __init__(self, text: str, alarm: str, raised: bool, node: int, every: bool) -> None:
        self.text, self.alarm, self.raised = text, alarm, raised
        self.node, self.every = node, every
        self.refs = Refs(nodes=(node,) if node else ())

    def evaluate(self, probe: Probe) -> Verdict:
        view = probe.view()
        if not (self.node or self.every):
            members = [a.member for a in view.alarms if a.alarm == self.alarm]
            shown = ", ".join(f"raised by member {m}" for m in members) or "not raised"
            return Verdict(bool(members) == self.raised, f"{self.alarm}: {shown}")
        nodes = [view.node(self.node)] if self.node else running(view)
        if None in nodes or not nodes:
            return Verdict(False, f"there is no node {self.node}" if self.node else
                           "no node is running")
        have = [(n.id, self.alarm in n.alarms) for n in nodes]
        shown = ", ".join(f"node {i}: {'raised' if on else 'not raised'}" for i, on in have)
        return Verdict(all(on == self.raised for _, on in have), f"{self.alarm}: {shown}")


def _parse_alarm(text: str, words: list[str], low: list[str]) -> Condition | None:
    if low[:1] != ["alarm"] or len(words) < 3:
        return None
    alarm = words[1].upper()
    if alarm not in ALARM_TYPES:
        raise ConditionError(f"{words[1]!r} is no alarm; etcd raises {' or '.join(ALARM_TYPES)}")
    for phrase, raised in _RAISED.items():
        if tuple(low[2:2 + len(phrase)]) == phrase:
            node, every, rest = parse_scope(words[2 + len(phrase):])
            if not rest:
                return AlarmRaised(text, alarm, raised, node, every)
    raise ConditionError(f"cannot read {text!r}; write e.g. alarm NOSPACE is raised, "
                         f"alarm NOSPACE is cleared or alarm NOSPACE is raised on all nodes")


# --- the answer to the last client request ----------------------------------------------


class AnswerIs(Condition):
    def __init__(self, text: str, what: str, want: str = "") -> None:
        self.text, self.what, self.want = text, what, want
        self.refs = Refs(answer=True)

    def evaluate(self, probe: Probe) -> Verdict:
        answer = probe.last_answer()
        if answer is None:
            return Verdict(False, "no client request was sent yet")
        shown = f"`{answer.line}`: {_one_line(answer.text) or answer.status}"
        failed = answer.status == "failed" or answer.text.startswith("Error")
        checks = {"error": lambda: failed and self.want in answer.text,
                  "no error": lambda: answer.status == "done" and not failed,
                  "contains": lambda: self.want in answer.text,
                  "is": lambda: answer.text.strip() == self.want}
        return Verdict(checks[self.what](), shown)


def _parse_answer(text: str, words: list[str], low: list[str]) -> Condition | None:
    joined = " ".join(low)
    if joined in ("no error", "it succeeded", "the request succeeded", "answer is ok"):
        return AnswerIs(text, "no error")
    if joined in ("it failed", "the request failed", "an error"):
        return AnswerIs(text, "error")
    lead = low[1:] if low[:1] == ["last"] else low
    rest = words[len(low) - len(lead):]
    if lead[:1] == ["error"] and lead[1:2] == ["contains"] and len(rest) == 3:
        return AnswerIs(text, "error", rest[2])
    if lead[:1] in (["answer"], ["output"]) and len(rest) == 3 and lead[1] in ("contains",
                                                                              "is"):
        return AnswerIs(text, lead[1], rest[2])
    if lead[:1] in (["answer"], ["error"], ["output"]):
        raise ConditionError(f"cannot read {text!r}; write e.g. error contains \"compacted\" "
                             f"or answer contains \"OK\" (quote the text)")
    return None

