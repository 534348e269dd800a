"""The linearizability checker: the WGL search with etcd's revisions, partitions, revision
order across keys, reads of the past, and shrunk counterexamples."""

from engine.check import (
    FAIL, OK, UNDECIDED, Compare, Delete, Get, KVModel, Put, check, check_linearizable,
    format_finding,
)
from engine.check.linearizable import partitions

from .builders import History, b, kv, txn_result


def verdict(h: History) -> list[str]:
    return [f.checker + ": " + f.summary for f in check_linearizable(h.ops).findings]


def test_a_sequential_history_is_linearizable():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.get("c2", 2, 3, "a", "1", mod=2, rev=2)
    h.delete("c1", 4, 5, "a", rev=3)
    h.get("c2", 6, 7, "a", None, rev=3)
    assert verdict(h) == []


def test_a_stale_read_is_caught_and_shrunk_to_three_operations():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    for n in range(10):                     # unrelated noise on another key
        h.put("c3", 10 + 2 * n, 11 + 2 * n, "b", f"x{n}", rev=3 + n)
    h.put("c1", 40, 41, "a", "2", rev=13)
    h.get("c2", 50, 51, "a", "1", mod=2, rev=13)
    out = check_linearizable(h.ops)
    lin = [f for f in out.findings if "cannot be ordered" in f.summary]
    assert len(lin) == 1 and lin[0].summary.startswith("keys a: these 3 operations (of 3)")
    assert [line.split("  ")[-2] for line in lin[0].evidence] == \
        ["put a=1", "put a=2", "get a"]
    assert out.histories == 2


def test_concurrent_operations_may_take_effect_in_either_order():
    h = History()
    h.put("c1", 0, 10, "a", "1", rev=2)
    h.get("c2", 1, 2, "a", None, rev=1)
    h.get("c3", 3, 4, "a", "1", mod=2, rev=2)
    assert verdict(h) == []


def test_revisions_must_grow_with_the_order_of_writes():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=5)
    h.put("c1", 2, 3, "a", "2", rev=3)
    found = verdict(h)
    assert any("cannot be ordered" in f for f in found)
    assert any("revision order" in f for f in found)


def test_an_unanswered_write_seen_by_a_read_took_effect_at_the_revision_seen():
    h = History()
    h.put("c1", 0, None, "a", "1")
    h.get("c2", 5, 6, "a", "1", mod=4, rev=4)
    h.put("c2", 7, 8, "a", "2", rev=5)
    h.get("c2", 9, 10, "a", "2", mod=5, rev=5)
    assert verdict(h) == []


def test_an_unanswered_write_cannot_be_seen_before_it_was_invoked():
    h = History()
    h.get("c2", 0, 1, "a", "1", mod=2, rev=2)
    h.put("c1", 5, None, "a", "1")
    assert any("cannot be ordered" in f for f in verdict(h))


def test_two_cas_txns_on_the_same_mod_revision_cannot_both_succeed():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    cas = [Compare(b("a"), "mod", "=", 2)]
    h.txn("c2", 2, 3, cas, [Put(b("a"), b("2"))], [Get(b("a"))], txn_result(True, 3))
    h.txn("c3", 4, 5, cas, [Put(b("a"), b("3"))], [Get(b("a"))], txn_result(True, 4))
    assert any("cannot be ordered" in f for f in verdict(h))


def test_a_failed_cas_reads_the_value_that_beat_it():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    cas = [Compare(b("a"), "mod", "=", 2)]
    h.txn("c2", 2, 3, cas, [Put(b("a"), b("2"))], [Get(b("a"))], txn_result(True, 3))
    h.txn("c3", 4, 5, cas, [Put(b("a"), b("3"))], [Get(b("a"))],
          txn_result(False, 3, kv("2", 3)))
    assert verdict(h) == []


def test_an_unanswered_txn_may_have_gone_either_way():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    cmp = [Compare(b("a"), "version", ">", 5)]      # undecidable from the model
    h.txn("c2", 2, None, cmp, [Put(b("a"), b("2"))], [Put(b("a"), b("3"))])
    h.get("c3", 10, 11, "a", "3", mod=3, rev=3)
    assert verdict(h) == []


def test_a_delete_that_removed_something_needs_the_key_present():
    h = History()
    h.delete("c1", 0, 1, "a", rev=2, deleted=1)
    assert any("cannot be ordered" in f for f in verdict(h))
    h = History()
    h.delete("c1", 0, 1, "a", rev=1, deleted=0)
    assert verdict(h) == []


def test_multi_key_txns_join_partitions():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.put("c1", 2, 3, "b", "1", rev=3)
    h.put("c1", 4, 5, "c", "1", rev=4)
    h.txn("c2", 6, 7, [Compare(b("a"), "value", "=", b("1"))],
          [Put(b("a"), b("2")), Put(b("b"), b("2"))], (), txn_result(True, 5))
    groups = partitions(h.ops)
    assert [keys for keys, _ in groups] == [(b"a", b"b"), (b"c",)]
    assert verdict(h) == []


def test_reads_of_the_past_must_match_the_writes():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.put("c1", 2, 3, "a", "2", rev=3)
    h.get("c2", 4, 5, "a", "1", mod=2, rev=3, at=2)
    h.get("c2", 6, 7, "a", "1", mod=2, rev=2, serializable=True)     # stale, but allowed
    assert verdict(h) == []
    h.get("c2", 8, 9, "a", "1", mod=2, rev=3, at=3)
    assert any("at revision 3 disagrees" in f for f in verdict(h))


def test_a_read_reporting_an_older_header_after_a_newer_write_breaks_revision_order():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=7)
    h.get("c2", 2, 3, "b", None, rev=4)      # another key: only the revision tells
    assert any("revision order" in f for f in verdict(h))


def test_two_writes_may_not_share_a_revision():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.put("c2", 0, 1, "b", "1", rev=2)
    assert any("claim revision 2" in f for f in verdict(h))


def test_refused_operations_and_leased_keys_are_left_out():
    h = History()
    h.fail("c1", 0, 1, Put(b("a"), b("1")))
    h.put("c1", 2, 3, "l", "1", rev=2, lease=7)
    h.get("c2", 4, 5, "l", None, rev=3)     # the lease expired: not this checker's business
    assert verdict(h) == []


def test_the_search_gives_up_on_its_budget():
    h = History()
    for n in range(12):
        h.put(f"c{n}", 0, 100, "a", f"v{n}", rev=2 + n)
    h.get("r", 101, 102, "a", "nope", mod=99, rev=99)
    result = check(KVModel((b"a",)), h.ops, budget=50)
    assert result.verdict == UNDECIDED
    assert check(KVModel((b"a",)), h.ops[:-1]).verdict == OK
    assert check(KVModel((b"a",)), h.ops).verdict == FAIL


def test_a_linearizable_search_returns_the_order():
    h = History()
    h.put("c1", 0, 10, "a", "1", rev=2)
    h.put("c2", 0, 10, "a", "2", rev=3)
    h.get("c3", 11, 12, "a", "2", mod=3, rev=3)
    result = check(KVModel((b"a",)), h.ops)
    assert result.verdict == OK and result.order == (0, 1, 2)


def test_unanswered_writes_no_one_saw_are_left_out_of_the_search():
    from engine.check.linearizable import unnoticed_writes
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    unseen = h.put("c2", 2, None, "a", "lost")
    h.put("c3", 3, None, "a", "seen")
    h.get("c1", 10, 11, "a", "seen", mod=4, rev=4)
    assert unnoticed_writes(h.ops) == {unseen.index}
    assert verdict(h) == []
    h.delete("c4", 12, 13, "a", rev=5)        # a delete that did not say what it removed
    assert unnoticed_writes(h.ops) == set()


def test_a_delete_that_reports_what_it_removed_is_held_to_it():
    from engine.check import Written
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.add("c2", 2, 3, Delete(b("a")), Written(3, 1, (kv("1", 2),)))
    assert verdict(h) == []
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.add("c2", 2, 3, Delete(b("a")), Written(3, 1, (kv("other", 2),)))
    assert any("cannot be ordered" in f for f in verdict(h))


def test_an_unanswered_txn_seen_only_by_a_read_of_the_past():
    h = History()
    h.txn("c1", 0, None, [Compare(b("a"), "mod", "=", 0)], [Put(b("a"), b("t"))])
    h.get("c2", 5, 6, "a", "t", mod=2, rev=3, serializable=True)
    h.get("c2", 7, 8, "a", "t", mod=2, rev=2, at=2)
    assert verdict(h) == []


def test_the_stores_history_settles_unanswered_writes_the_search_could_not():
    """Timed-out puts on a key that is also deleted stay in the search (a delete could
    have noticed them) and make it give up; the store's history says which took effect,
    and the same history is decided."""
    from engine.check import StoreHistory
    from engine.check.linearizable import never_applied, resolve_unknown_writes

    from .builders import ev
    h = History()
    h.put("w", 0, 1, "a", "first", rev=2)
    lost = [h.put(f"t{n}", 2, None, "a", f"lost{n}") for n in range(14)]
    applied = h.put("t", 2, None, "a", "applied")
    h.get("r", 20, 21, "a", "applied", mod=3, rev=3)
    h.delete("d", 22, 23, "a", rev=4)
    h.get("r", 24, 25, "a", None, rev=4)
    store = StoreHistory((ev(2, "a", "first"), ev(3, "a", "applied"), ev(4, "a")), 1, 4)

    assert check_linearizable(h.ops, budget=20_000).undecided
    settled = check_linearizable(h.ops, budget=20_000, store=store)
    assert not settled.undecided and not settled.findings and settled.histories == 1
    assert never_applied(h.ops, store) == {op.index for op in lost}
    assert applied.index not in never_applied(h.ops, store)
    compacted = StoreHistory(store.events[1:], 3, 4)      # could have dropped them
    assert never_applied(h.ops, compacted) == set()
    resolved = resolve_unknown_writes(h.ops, store)
    assert resolved[applied.index].response.revision == 3


def test_an_unanswered_cas_the_store_holds_succeeded_there():
    from engine.check import StoreHistory
    from engine.check.linearizable import resolve_unknown_writes

    from .builders import ev
    h = History()
    h.put("w", 0, 1, "a", "1", rev=2)
    cas = h.txn("c", 2, None, [Compare(b("a"), "mod", "=", 2)], [Put(b("a"), b("cas"))],
                [Get(b("a"))])
    h.get("r", 10, 11, "a", "1", mod=2, rev=3)     # stale: the cas took revision 3
    store = StoreHistory((ev(2, "a", "1"), ev(3, "a", "cas")), 1, 3)
    resolved = resolve_unknown_writes(h.ops, store)[cas.index].response
    assert (resolved.succeeded, resolved.revision) == (True, 3)
    assert check_linearizable(h.ops).findings == []      # alone: the cas may not have run
    found = check_linearizable(h.ops, store=store).findings   # it did: the read is stale
    assert found and "the store's history has its write at rev 3" in format_finding(found[0])
