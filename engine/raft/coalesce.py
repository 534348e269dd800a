"""Merging one Ready's outgoing messages before they hit the network.

Under load a leader emits many small appends to the same follower in one Ready (one per
proposal batch, one more per commit advance) and a follower many responses. Consecutive
appends to one follower whose entries continue each other are the same as one append
carrying all of them with the highest commit; of several successful append responses to
one leader in the same term, the last says everything the earlier ones did. Nothing else
is touched, and messages keep their order otherwise.
"""

from __future__ import annotations

from dataclasses import replace

from .types import Message, MessageType as MT


def _end(m: Message) -> tuple[int, int]:
    """(index, term) of the last entry an append leaves the follower with."""
    if m.entries:
        return m.entries[-1].index, m.entries[-1].term
    return m.index, m.log_term


def _continues(prev: Message, m: Message) -> bool:
    return prev.term == m.term and (m.index, m.log_term) == _end(prev)


def coalesce(messages: list[Message]) -> list[Message]:
    out: list[Message] = []
    tail: dict[tuple[int, MT], int] = {}      # (to, type) -> position of a mergeable one
    for m in messages:
        key = (m.to, m.type)
        j = tail.get(key)
        if j is not None and m.type is MT.APP and _continues(out[j], m):
            prev = out[j]
            out[j] = replace(prev, entries=prev.entries + m.entries,
                             commit=max(prev.commit, m.commit))
            continue
        if (j is not None and m.type is MT.APP_RESP and not m.reject
                and out[j].term == m.term and m.index >= out[j].index):
            out[j] = m
            continue
        for other in [k for k in tail if k[0] == m.to]:
            del tail[other]   # anything else to this peer ends the run
        if m.type is MT.APP or (m.type is MT.APP_RESP and not m.reject):
            tail[key] = len(out)
        out.append(m)
    return out
