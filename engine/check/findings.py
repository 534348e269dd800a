"""What a checker reports: a named finding with a one-line summary and the evidence.

Every checker returns a list of `Finding`s (empty: the history passed). The evidence lines
are meant to be read by a person: the operations or events that cannot be reconciled,
one per line, smallest set first.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Finding:
    checker: str                       # e.g. "linearizability", "watch-reliable"
    summary: str
    evidence: tuple[str, ...] = ()


@dataclass(slots=True)
class Verdicts:
    """The outcome of running checkers over one run: findings, and how many independent
    histories (partitions, watch streams, ...) were checked, and how many searches gave
    up on their budget (neither passed nor failed)."""
    findings: list[Finding] = field(default_factory=list)
    histories: int = 0
    undecided: list[str] = field(default_factory=list)

    def extend(self, other: Verdicts) -> None:
        self.findings += other.findings
        self.histories += other.histories
        self.undecided += other.undecided


# Said under a summary whose searches gave up, so "0 violations" is not read as a pass.
UNDECIDED_NOTE = "undecided histories were neither passed nor failed: the search gave up"


def format_finding(f: Finding, indent: str = "  ") -> str:
    lines = [f"{indent}{f.checker}: {f.summary}"]
    lines += [f"{indent}  {line}" for line in f.evidence]
    return "\n".join(lines)
