"""Property test: the store against a plain model (one dict per revision).

Random sequences of put, delete, range, txn and compaction go to both; every response,
every refusal and every read at every revision must agree. A second member fed the same
sequence must end with the same hash and snapshot, and the snapshot must restore to a store
that answers every read the same way. Watchers with tiny buffers, read at random moments,
must see exactly the model's changes in order, or a prefix of them and then a cancellation
because the history they needed was compacted.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kv import (Compare, CompareResult, CompareTarget, CompactionRequest,
                       DeleteRangeRequest, ErrorKind, EventType, KeySpan, KVConfig, KVError,
                       KVStore, PutRequest, RangeRequest, TxnRequest)

KEYS = [b"a", b"ab", b"b", b"c", b"\xff"]


class Model:
    """State at every revision as {key: (value, create, mod, version)}."""

    def __init__(self):
        self.states = {1: {}}
        self.rev = 1
        self.compacted = 0
        self.events = []  # (type, key, value, revision) of every change, in order

    def read(self, span, rev):
        if rev > self.rev:
            raise KVError(ErrorKind.FUTURE_REV)
        rev = rev if rev > 0 else self.rev
        if rev < self.compacted:
            raise KVError(ErrorKind.COMPACTED)
        state = self.states[rev]
        return [(k, *state[k]) for k in sorted(state) if span.contains(k)]

    def write(self, ops):
        """Apply puts and deletes as one transaction; return per-op results."""
        state, new_rev, results = dict(self.states[self.rev]), self.rev + 1, []
        changed, pending = False, []
        for op in ops:
            if isinstance(op, PutRequest):
                old = state.get(op.key)
                state[op.key] = (op.value, old[1] if old else new_rev, new_rev,
                                 old[3] + 1 if old else 1)
                changed = True
                results.append(("put", new_rev))
                pending.append((EventType.PUT, op.key, op.value, new_rev))
            else:
                span = KeySpan.of(op.key, op.range_end)
                doomed = sorted(k for k in state if span.contains(k))
                for key in doomed:
                    del state[key]
                    pending.append((EventType.DELETE, key, b"", new_rev))
                changed = changed or bool(doomed)
                results.append(("delete", len(doomed), new_rev if changed else self.rev))
        if changed:
            self.rev = new_rev
            self.states[new_rev] = state
            self.events += pending
        return results

    def compact(self, rev):
        if rev <= self.compacted:
            raise KVError(ErrorKind.COMPACTED)
        if rev > self.rev:
            raise KVError(ErrorKind.FUTURE_REV)
        self.compacted = rev


def duplicate(ops):
    puts = [op.key for op in ops if isinstance(op, PutRequest)]
    spans = [KeySpan.of(op.key, op.range_end) for op in ops if isinstance(op, DeleteRangeRequest)]
    return len(set(puts)) < len(puts) or any(s.contains(k) for s in spans for k in puts)


keys = st.sampled_from(KEYS)
range_ends = st.sampled_from([b"", b"", b"\0", b"b", b"c", b"\xff\xff"])
puts = st.builds(PutRequest, keys, st.sampled_from([b"", b"x", b"yy"]))
deletes = st.builds(DeleteRangeRequest, keys, range_ends)
ranges = st.builds(RangeRequest, keys, range_ends, revision=st.integers(0, 25))
writes = st.lists(st.one_of(puts, deletes), max_size=4)
txns = st.builds(
    TxnRequest,
    compare=st.lists(st.builds(Compare, keys, st.just(CompareTarget.VERSION),
                               st.sampled_from(list(CompareResult)),
                               version=st.integers(0, 3)), max_size=2),
    success=writes, failure=writes)
compactions = st.builds(CompactionRequest, st.integers(0, 25))
requests = st.lists(st.one_of(puts, deletes, ranges, txns, compactions), max_size=40)


def model_compare(model, compare):
    state = model.states[model.rev]
    version = state[compare.key][3] if compare.key in state else 0
    return {CompareResult.EQUAL: version == compare.version,
            CompareResult.NOT_EQUAL: version != compare.version,
            CompareResult.GREATER: version > compare.version,
            CompareResult.LESS: version < compare.version}[compare.result]


def expect(model, request):
    """What the model says: a comparable summary of the response, or the error kind."""
    try:
        if isinstance(request, RangeRequest):
            kvs = model.read(KeySpan.of(request.key, request.range_end), request.revision)
            return ("range", model.rev, kvs)
        if isinstance(request, CompactionRequest):
            model.compact(request.revision)
            return ("compact", model.rev)
        if isinstance(request, TxnRequest):
            ok = all(model_compare(model, c) for c in request.compare)
            ops = request.success if ok else request.failure
            if duplicate(request.success) or duplicate(request.failure):
                return ErrorKind.DUPLICATE_KEY
            return ("txn", ok, model.write(ops), model.rev)
        return model.write([request])[0]
    except KVError as err:
        return err.kind


def summary(store, request):
    try:
        resp = store.apply(request)
    except KVError as err:
        return err.kind
    if isinstance(request, RangeRequest):
        kvs = [(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version)
               for kv in resp.kvs]
        return ("range", resp.header.revision, kvs)
    if isinstance(request, CompactionRequest):
        return ("compact", resp.header.revision)
    if isinstance(request, TxnRequest):
        results = [_op_summary(r) for r in resp.responses]
        return ("txn", resp.succeeded, results, resp.header.revision)
    return _op_summary(resp)


def _op_summary(resp):
    if hasattr(resp, "deleted"):
        return ("delete", resp.deleted, resp.header.revision)
    return ("put", resp.header.revision)


def all_reads(store, first_rev):
    return {rev: [(kv.key, kv.value, kv.mod_revision)
                  for kv in store.range(RangeRequest(b"\0", b"\0", revision=rev)).kvs]
            for rev in range(first_rev, store.current_revision + 1)}


@settings(max_examples=300, deadline=None)
@given(requests)
def test_store_matches_model(log):
    store, twin, model = KVStore(), KVStore(), Model()
    for request in log:
        assert summary(store, request) == expect(model, request), request
        try:
            twin.apply(request)
        except KVError:
            pass
    first = max(model.compacted, 1)
    for rev in range(first, model.rev + 1):
        assert [(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version)
                for kv in store.range(RangeRequest(b"\0", b"\0", revision=rev)).kvs] \
            == model.read(KeySpan.of(b"\0", b"\0"), rev)
    assert twin.hash_kv() == store.hash_kv()
    assert twin.snapshot() == store.snapshot()
    restored = KVStore.restore(store.snapshot())
    assert restored.snapshot() == store.snapshot()
    assert all_reads(restored, first) == all_reads(store, first)


class Take:
    """Test step: take up to `count` responses from watcher `watcher`."""

    def __init__(self, watcher, count):
        self.watcher, self.count = watcher, count

    def __repr__(self):
        return f"Take({self.watcher}, {self.count})"


watch_steps = st.lists(st.one_of(
    puts, deletes, txns, compactions,
    st.builds(Take, st.integers(0, 2), st.integers(1, 3))), max_size=40)


@settings(max_examples=300, deadline=None)
@given(watch_steps, st.integers(1, 3), st.integers(1, 3), st.lists(st.integers(0, 6),
                                                                     min_size=3, max_size=3))
def test_watchers_see_every_change_in_order_however_slow(steps, pending, batch, starts):
    store = KVStore(KVConfig(watch_max_pending=pending, watch_batch_max_revs=batch))
    model = Model()
    watchers = [store.watch(b"\0", b"\0", start_revision=start) for start in starts]
    delivered = {wid: [] for wid in watchers}
    for step in steps:
        if isinstance(step, Take):
            wid = watchers[step.watcher]
            if wid in store._watches.watchers:
                delivered[wid] += store.take_responses(wid, step.count)
            continue
        assert summary(store, step) == expect(model, step)
    for wid in watchers:
        while wid in store._watches.watchers and (more := store.take_responses(wid)):
            delivered[wid] += more
    for wid, start in zip(watchers, starts):
        _check_delivery(delivered[wid], model, start if start > 0 else 2)


def _check_delivery(responses, model, start):
    expected = [e for e in model.events if e[3] >= start]
    got = [(ev.type, ev.kv.key, ev.kv.value, ev.kv.mod_revision)
           for resp in responses for ev in resp.events]
    if responses and responses[-1].canceled:
        assert got == expected[:len(got)]
        next_rev = got[-1][3] + 1 if got else start
        assert responses[-1].compact_revision > next_rev - 1 >= 0
        assert responses[-1].compact_revision <= model.compacted
    else:
        assert got == expected
