"""Durability and lease checkers."""

from engine.check import LeaseBounds, StoreHistory, check_durability, check_leases

from .builders import History, ev


def store(*events, complete_from=2):
    return StoreHistory(tuple(events), complete_from, max(e.revision for e in events))


def findings(verdicts):
    return [f.checker + ": " + f.summary for f in verdicts.findings]


def test_acknowledged_writes_are_in_the_store():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    h.put("c1", 2, 3, "a", "2", rev=3)
    h.delete("c1", 4, 5, "a", rev=4)
    h.put("c2", 6, None, "b", "x")              # no answer: may be missing
    assert findings(check_durability(h.ops, store(ev(2, "a", "1"), ev(3, "a", "2"),
                                                  ev(4, "a")))) == []
    lost = findings(check_durability(h.ops, store(ev(2, "a", "1"), ev(4, "a"))))
    assert lost == ["durability: 1 acknowledged write(s) missing from the store history"]


def test_an_acknowledgement_without_a_revision_needs_the_value_somewhere():
    h = History()
    h.put("c1", 0, 1, "a", "1")
    assert findings(check_durability(h.ops, store(ev(5, "a", "1")))) == []
    assert findings(check_durability(h.ops, store(ev(5, "b", "1")))) != []


def test_nothing_appears_that_no_one_wrote_and_nothing_twice():
    h = History()
    h.put("c1", 0, 1, "a", "1", rev=2)
    made_up = findings(check_durability(h.ops, store(ev(2, "a", "1"), ev(3, "a", "evil"))))
    assert made_up == ["durability: 1 put(s) in the store that no client asked for at that "
                       "revision"]
    h = History()
    h.put("c1", 0, None, "a", "1")
    twice = findings(check_durability(h.ops, store(ev(2, "a", "1"), ev(3, "a", "1"))))
    assert twice == ["durability: 1 write(s) applied more than once"]


def test_a_delete_of_a_leased_key_is_explained_by_a_revocation():
    h = History()
    h.put("c1", 0, 1, "l", "1", rev=2, lease=9)
    h.revoke("c1", 2, 3, 9, rev=3)
    assert findings(check_durability(h.ops, store(ev(2, "l", "1", lease=9), ev(3, "l")))) == []


SECOND = 1000


def bounds(quiet_from=None, end=100 * SECOND):
    return LeaseBounds(per_second=SECOND, min_factor=0.9, max_factor=1.1, extend=1.0,
                       max_late=2.0, quiet_from=quiet_from, end=end)


def lease_history(expire_at):
    h = History()
    h.grant("c1", 0, 10, 7, 3)
    h.put("c1", 20, 30, "l", "1", rev=2, lease=7)
    h.keepalive("c1", 2000, 2010, 7, 3)
    h.expire(expire_at, expire_at + 10, 7, rev=3)
    return h


STORE = StoreHistory((ev(2, "l", "1", lease=7), ev(3, "l")), 2, 3)


def test_a_lease_expired_before_its_ttl_after_a_keepalive_is_early():
    assert findings(check_leases(lease_history(5000).ops, STORE, bounds())) == []
    early = findings(check_leases(lease_history(4000).ops, STORE, bounds()))
    assert early == ["lease-early: lease 7 (TTL 3s) was expired 2.00s after the last renewal "
                     "was asked for; the TTL allows no less than 2.70s"]


def test_a_lease_must_go_soon_after_its_deadline_once_the_cluster_is_quiet():
    h = History()
    h.grant("c1", 0, 10, 7, 3)
    assert findings(check_leases(h.ops, STORE, bounds(quiet_from=0, end=6 * SECOND))) == []
    late = findings(check_leases(h.ops, STORE, bounds(quiet_from=0, end=60 * SECOND)))
    assert late and late[0].startswith("lease-late: lease 7 (TTL 3s) was still not revoked")
    h.expire(5000, 5010, 7, rev=3)
    assert findings(check_leases(h.ops, STORE, bounds(quiet_from=0, end=60 * SECOND))) == []


def test_a_revocation_removes_every_key_in_its_revision():
    h = lease_history(5000)
    split = StoreHistory((ev(2, "l", "1", lease=7), ev(2, "m", "1", lease=7), ev(3, "l"),
                          ev(4, "m")), 2, 4)
    h.put("c1", 21, 31, "m", "1", rev=2, lease=7)
    found = findings(check_leases(h.ops, split, bounds()))
    assert found == ["lease-revoke: lease 7 was revoked at revision 3 but its key(s) m were "
                     "not deleted there"]
