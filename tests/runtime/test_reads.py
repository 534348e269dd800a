"""The ReadIndex queue: batching, waiting for the apply, retries and expiry."""

import itertools

from engine.runtime.reads import Read, ReadQueue


def make():
    ids = itertools.count(1)
    return ReadQueue(lambda: next(ids), retry_after=1.0)


def read(log, name, deadline=10.0):
    return Read(lambda: log.append(("ready", name)), lambda: log.append(("late", name)),
                deadline)


def test_one_round_for_a_batch_then_wait_for_apply():
    q, log, sent = make(), [], []
    q.add(read(log, "a"))
    q.add(read(log, "b"))
    q.start_round(sent.append, now=0)
    assert len(sent) == 1                     # two reads, one ReadIndex
    q.answered(sent[0], index=7, applied=5)
    assert log == []                          # committed 7 but applied only 5
    q.applied(6)
    assert log == []
    q.applied(7)
    assert log == [("ready", "a"), ("ready", "b")]


def test_unanswered_round_is_asked_again_and_late_reads_expire():
    q, log, sent = make(), [], []
    q.add(read(log, "a", deadline=2.5))
    q.start_round(sent.append, now=0)
    assert not q.tick(now=0.5)                # not yet worth asking again
    assert q.tick(now=1.0)                    # unanswered: back in the queue
    q.start_round(sent.append, now=1.0)
    assert len(sent) == 2
    q.answered(sent[0], index=3, applied=3)   # a stale round's answer serves nobody
    assert log == []
    q.tick(now=3.0)
    assert log == [("late", "a")]
    q.answered(sent[1], index=3, applied=3)
    assert log == [("late", "a")]             # finished reads stay finished
