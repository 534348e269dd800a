"""Following a client request into the logs of a live cluster.

Every write the client panel sends carries its trace id (r1, r2, ...) as `raftviz-request`
gRPC metadata (engine.runtime.tracing), prefixed with this interface's session, so that
two interfaces on one cluster, or one started again, never take each other's r1 for their
own. The member that takes the request records that tag on the entry it proposes, and the
control service names it beside the entry in every member's log tail.

`EntryLinks` reads those tails from each member's Observe snapshot. The first log that
shows a request's entry fixes its index and term; from then on, for each member, it notes
when the observation stream first showed the entry appended, committed (index <= commit)
and applied (index <= applied), in milliseconds on the backend's clock, and writes that
into the request's trace. A member whose tail no longer reaches the entry (it arrived in a
snapshot, or scrolled past between two observations) counts once its commit covers the
index and the entry is known committed elsewhere: committed entries are the same in every
log.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Mapping

from engine.observe import NodeTime

from .live_client import TRACES_KEPT, Requests

STAGES = ("appended", "committed", "applied")


@dataclass(slots=True)
class Linked:
    """A request's entry: where it is, and when each member was seen at each stage."""
    index: int
    term: int
    appended: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    applied: dict[int, int] = field(default_factory=dict)

    def fields(self) -> dict[str, object]:
        times = {stage: tuple(NodeTime(n, t) for n, t in sorted(
            getattr(self, stage).items(), key=lambda i: (i[1], i[0]))) for stage in STAGES}
        return {"index": self.index, "term": self.term, **times}


class EntryLinks:
    def __init__(self, requests: Requests, session: str | None = None) -> None:
        self.requests = requests
        self.prefix = f"{session or secrets.token_hex(3)}/"
        self.linked: dict[str, Linked] = {}
        self._lock = threading.Lock()

    def tag(self, request_id: str) -> str:
        """What a request's entry carries: the session, then the request's id."""
        return self.prefix + request_id

    def shown(self, trace: str) -> str:
        """How an entry's trace id is shown: ours as the request's id (r4), another
        interface's whole (3fa9c0/r4), so it never matches one of ours."""
        return trace.removeprefix(self.prefix)

    def by_entry(self) -> dict[tuple[int, int], str]:
        """(term, index) -> request id, for the entries of the requests followed."""
        with self._lock:
            return {(e.term, e.index): rid for rid, e in self.linked.items()}

    def observe(self, node: int, snap: Mapping[str, object], now: int) -> None:
        """Note what member `node`'s Observe snapshot shows of the followed entries."""
        log = snap.get("log") or ()
        assert isinstance(log, (list, tuple))
        tail = {int(e["index"]): e for e in log}
        commit, applied = int(snap.get("commit", 0)), int(snap.get("applied", 0))
        with self._lock:
            self._find(log)
            changed = [(rid, entry.fields()) for rid, entry in self.linked.items()
                       if self._note(rid, entry, node, tail, commit, applied, now)]
        for rid, fields in changed:
            if not self.requests.amend(rid, **fields):
                with self._lock:
                    self.linked.pop(rid, None)      # no longer kept by the panel

    def _find(self, log) -> None:
        for e in log:
            trace = e.get("trace")
            if not trace or not str(trace).startswith(self.prefix):
                continue
            rid = self.shown(str(trace))
            if rid not in self.linked and self.requests.get(rid) is not None:
                self.linked[rid] = Linked(int(e["index"]), int(e["term"]))
                while len(self.linked) > TRACES_KEPT:     # the panel keeps no more
                    del self.linked[next(iter(self.linked))]

    def _note(self, rid: str, entry: Linked, node: int, tail: Mapping[int, Mapping],
              commit: int, applied: int, now: int) -> bool:
        if node in entry.applied:
            return False
        shown = tail.get(entry.index)
        if shown is not None:
            here = shown.get("trace") == self.tag(rid) and int(shown["term"]) == entry.term
        else:
            here = bool(entry.committed) and commit >= entry.index
        if not here:
            return False
        reached = (True, commit >= entry.index, applied >= entry.index)
        changed = False
        for stage, now_reached in zip(STAGES, reached):
            times = getattr(entry, stage)
            if now_reached and node not in times:
                times[node] = now
                changed = True
        return changed
