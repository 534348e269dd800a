"""Makes etcdctl output comparable between two clusters (real etcd 3.4 and raftviz, or two
fresh etcd clusters): only what is inherently different from run to run is rewritten.

Rewritten, and why:
  * names     - member/cluster IDs, lease IDs, ports, temp paths: random or chosen per run.
                Each known value (hex and decimal) becomes its label, e.g. `<m1>`, `<lease>`.
  * terms     - raft term: how many elections happened is a race (`<term>`).
  * indexes   - raft committed/applied index: counts internal entries (conf changes,
                member publishes, cluster version) that differ by implementation (`<index>`).
  * sizes     - backend db size (`<size>`).
  * durations - `took = ...` in health checks (`<duration>`).
  * remaining - a lease's remaining TTL in seconds ticks down while we look (`<ttl>`);
                the granted TTL is kept.
  * versions  - server patch version: `3.4.23` becomes `3.4.<patch>`.
  * logs      - etcdctl's own zap JSON log lines keep only level, message and error
                (timestamps, callers, balancer targets dropped).
  * orders    - lists whose order comes from Go map iteration or from random member IDs are
                sorted: ETCD_INITIAL_CLUSTER items, a lease's attached keys, and the rows of
                steps marked `sort_rows` (member list, endpoint --cluster, lease list).
  * tables    - re-rendered without borders or padding, since column widths follow the
                lengths of the values replaced above.
Kept exactly: revisions, versions of keys, values, counts, TTLs granted, error messages and
gRPC codes, which member is leader (the runner pins leadership to the first member).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# --- names ---------------------------------------------------------------------------------


@dataclass
class Names:
    """Literal values seen in output, each mapped to a stable label."""
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, value: str) -> None:
        self.labels[value] = f"<{label}>"
        if re.fullmatch(r"[0-9a-f]{6,16}", value):  # etcd IDs: hex in text, decimal in JSON
            self.labels[str(int(value, 16))] = f"<{label}>"

    def replace(self, text: str) -> str:
        if not self.labels:
            return text
        values = sorted(self.labels, key=len, reverse=True)
        pattern = "|".join(re.escape(v) for v in values)
        # etcdctl prints IDs as %16x: a shorter one comes padded with spaces, which go
        # with it (a cluster ID of 15 hex digits printed "cluster  <cluster>").
        token = re.compile(rf"( *)(?<![0-9A-Za-z_])({pattern})(?![0-9A-Za-z_])")
        return token.sub(lambda m: (" " if m.group(1) else "") + self.labels[m.group(2)],
                         text)


# --- masks on plain text, JSON and fields output ---------------------------------------------

DURATION = r"[0-9.]+(?:ns|µs|us|ms|s|m)"
TEXT_MASKS = [
    (re.compile(r'("raft_term":)\d+'), r"\1<term>"),
    (re.compile(r'("raftTerm":)\d+'), r"\1<term>"),
    (re.compile(r'("raft(?:Applied)?Index":)\d+'), r"\1<index>"),
    (re.compile(r'("dbSize(?:InUse)?":)\d+'), r"\1<size>"),
    (re.compile(r'("RaftTerm" : )\d+'), r"\1<term>"),
    (re.compile(r'("took":)"[^"]*"'), r'\1"<duration>"'),
    (re.compile(rf"took = {DURATION}"), "took = <duration>"),
    (re.compile(r'("ttl":)-?\d+'), r"\1<ttl>"),
    (re.compile(r"remaining\(-?\d+s\)"), "remaining(<ttl>s)"),
    (re.compile(r"\b3\.4\.\d+\b"), "3.4.<patch>"),
    # `endpoint status` simple rows: endpoint, id, version, db size, leader, learner,
    # term, index, applied index, errors
    (re.compile(r"^([^,]+, [^,]+, [^,]+, )[0-9.]+ [kMGT]?B(, (?:true|false), (?:true|false)"
                r"), \d+, \d+, \d+,"), r"\1<size>\2, <term>, <index>, <index>,"),
]
TABLE_COLUMN_MASKS = {
    "DB SIZE": "<size>", "RAFT TERM": "<term>", "RAFT INDEX": "<index>",
    "RAFT APPLIED INDEX": "<index>", "TOOK": "<duration>",
}


def mask_line(line: str) -> str:
    for pattern, replacement in TEXT_MASKS:
        line = pattern.sub(replacement, line)
    return line


def sort_list_items(line: str) -> str:
    """Sort lists whose order etcd takes from a Go map or from random member IDs."""
    line = re.sub(r'^(ETCD_INITIAL_CLUSTER=")([^"]*)(")$',
                  lambda m: m[1] + ",".join(sorted(m[2].split(","))) + m[3], line)
    line = re.sub(r"attached keys\(\[([^\]]*)\]\)",
                  lambda m: "attached keys([" + " ".join(sorted(m[1].split())) + "])", line)
    return re.sub(r'("keys":\[)([^\]]*)(\])',
                  lambda m: m[1] + ",".join(sorted(m[2].split(","))) + m[3], line)


# --- logs ------------------------------------------------------------------------------------


def compact_log_line(line: str) -> str:
    """etcdctl's zap JSON log line -> `[level] msg: error`; other lines unchanged."""
    if not line.startswith('{"level":'):
        return line
    try:
        record = json.loads(line)
    except ValueError:
        return line
    text = f"[{record.get('level')}] {record.get('msg')}"
    return f"{text}: {record['error']}" if "error" in record else text


# --- tables ----------------------------------------------------------------------------------


def is_table(lines: list[str]) -> bool:
    return bool(lines) and lines[0].startswith("+-") and lines[-1].startswith("+-")


def table_rows(lines: list[str]) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in lines if line.startswith("|")]


def mask_table(rows: list[list[str]], names: Names) -> list[list[str]]:
    header, body = rows[0], rows[1:]
    masked = []
    for row in body:
        cells = [mask_line(names.replace(c)) for c in row]
        for i, title in enumerate(header):
            if title in TABLE_COLUMN_MASKS and i < len(cells) and cells[i]:
                cells[i] = TABLE_COLUMN_MASKS[title]
        masked.append(cells)
    return [header] + masked


def render_table(rows: list[list[str]], sort_rows: bool) -> list[str]:
    header, body = rows[0], rows[1:]
    if sort_rows:
        body = sorted(body)
    return ["| " + " | ".join(row) + " |" for row in [header] + body]


# --- one command's output --------------------------------------------------------------------


def normalize_stdout(text: str, names: Names, sort_rows: bool,
                     masks: tuple[tuple[str, str], ...] = ()) -> list[str]:
    lines = text.splitlines()
    if is_table(lines):
        return render_table(mask_table(table_rows(lines), names), sort_rows)
    out = [normalize_line(line, names, masks) for line in lines]
    return sorted(out) if sort_rows else out


def normalize_line(line: str, names: Names, masks: tuple[tuple[str, str], ...] = ()) -> str:
    line = mask_line(names.replace(compact_log_line(line.rstrip())))
    for pattern, replacement in masks:
        line = re.sub(pattern, replacement, line)
    return sort_list_items(line)


def normalize_stderr(text: str, names: Names, masks: tuple[tuple[str, str], ...] = ()
                     ) -> list[str]:
    return [normalize_line(line, names, masks) for line in text.splitlines() if line.strip()]
