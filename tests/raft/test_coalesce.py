"""Merging a Ready's messages: continuing appends become one, stale acks disappear."""

from engine.raft import Entry, Message, MessageType as MT
from engine.raft.coalesce import coalesce


def app(to, index, log_term, *entries, commit=0, term=2):
    return Message(MT.APP, to=to, frm=1, term=term, index=index, log_term=log_term,
                   entries=tuple(Entry(t, i) for i, t in entries), commit=commit)


def test_continuing_appends_merge_with_the_highest_commit():
    msgs = [app(2, 5, 1, (6, 2), commit=5), app(3, 5, 1, (6, 2)),
            app(2, 6, 2, (7, 2), (8, 2), commit=6), app(2, 8, 2, commit=8)]
    out = coalesce(msgs)
    assert len(out) == 2
    merged = out[0]
    assert (merged.to, merged.index, merged.log_term, merged.commit) == (2, 5, 1, 8)
    assert [e.index for e in merged.entries] == [6, 7, 8]
    assert out[1] == msgs[1]


def test_gaps_terms_and_other_messages_break_the_run():
    gap = [app(2, 5, 1, (6, 2)), app(2, 9, 2, (10, 2))]
    assert coalesce(gap) == gap
    new_term = [app(2, 5, 1, (6, 2)), app(2, 6, 2, (7, 3), term=3)]
    assert coalesce(new_term) == new_term
    hb = Message(MT.HEARTBEAT, to=2, frm=1, term=2)
    broken = [app(2, 5, 1, (6, 2)), hb, app(2, 6, 2, (7, 2))]
    assert coalesce(broken) == broken


def test_successful_acks_keep_only_the_latest():
    acks = [Message(MT.APP_RESP, to=1, frm=2, term=2, index=i) for i in (5, 7, 9)]
    assert coalesce(acks) == [acks[-1]]
    reject = Message(MT.APP_RESP, to=1, frm=2, term=2, index=9, reject=True, reject_hint=3)
    assert coalesce([acks[0], reject, acks[1]]) == [acks[0], reject, acks[1]]
