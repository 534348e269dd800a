"""Transcript tests: a script of commands, each followed by `----` and its expected output.

    # comments and blank lines between blocks are kept as they are
    propose 1 x
    ----
    expected output, up to the next blank line

Run with `pytest --rewrite` to write the actual outputs back into the files instead of
comparing (then review the diff). Used by the Raft behaviour tests and the lessons.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass
class Block:
    line: int            # 1-based line of the command, for error messages
    command: str
    expected: str
    comments: list[str]


def parse(text: str) -> tuple[list[Block], list[str]]:
    """Blocks, and the trailing comment lines after the last block."""
    lines = text.splitlines()
    blocks: list[Block] = []
    comments: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            if line.strip():
                comments.append(line)   # blank lines are re-made by render()
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1] != "----":
            raise ValueError(f"line {i + 1}: command {line!r} is not followed by '----'")
        start, i = i + 1, i + 2
        out: list[str] = []
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        blocks.append(Block(start, line, "\n".join(out), comments))
        comments = []
    return blocks, comments


def render(blocks: list[Block], trailing: list[str]) -> str:
    out: list[str] = []
    for b in blocks:
        out += b.comments
        out += [b.command, "----"]
        if b.expected:
            out.append(b.expected)
        out.append("")
    out += trailing
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n"


def run_transcript(path: Path, run: Callable[[str], str], rewrite: bool) -> None:
    blocks, trailing = parse(path.read_text())
    failures = []
    for b in blocks:
        actual = "\n".join(l.rstrip() for l in run(b.command).splitlines() if l.strip())
        if rewrite:
            b.expected = actual
        elif actual != b.expected:
            failures.append(f"{path.name}:{b.line}: {b.command}\n--- expected\n{b.expected}"
                            f"\n--- actual\n{actual}")
            break   # later blocks depend on this one; stop at the first difference
    if rewrite:
        path.write_text(render(blocks, trailing))
    assert not failures, "\n".join(failures)
