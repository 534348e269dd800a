"""LiveBackend's keyspace on real member processes: the mirror that follows one member's
keys by watching them, the count beyond the keys shown, and key histories read one change
at a time. One 3-member cluster serves the module (conftest)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from typing import Callable

import pytest

import raftviz.live_keyspace as cache
from engine import observe as o
from engine.runtime.proto import rpc_pb2
from raftviz.live_mirror import KeyMirror

from .live_helpers import send, wait


def test_keyspace_mirror_follows_puts_deletes_and_a_new_member(healed):
    stop, changes = threading.Event(), []
    mirror = KeyMirror(healed.channels, lambda: changes.append(1), stop)
    urls = healed.cluster.client_urls()

    def shows(pred, what):
        deadline = time.monotonic() + 10
        while not pred({k.key: k for k in mirror.first(10_000)[0]}):
            assert time.monotonic() < deadline, what
            time.sleep(0.02)

    mirror.start()
    try:
        mirror.follow(1, urls[0])
        put = send(healed, "put mirror/a one")
        shows(lambda ks: ks.get("mirror/a") and ks["mirror/a"].mod_revision == put.revision,
              "the put in the mirror")
        assert mirror.first(1)[2] >= put.revision
        assert mirror.active and mirror.source == (1, urls[0])
        send(healed, "del mirror/a")
        shows(lambda ks: "mirror/a" not in ks, "the delete in the mirror")
        mirror.follow(2, urls[1])
        again = send(healed, "put mirror/b two")
        shows(lambda ks: ks.get("mirror/b") and ks["mirror/b"].value == "two"
              and ks["mirror/b"].mod_revision == again.revision, "a put after retargeting")
        assert mirror.source == (2, urls[1]) and changes
    finally:
        stop.set()
        mirror.close()
        mirror.join(5)
    assert not mirror.is_alive()


def test_the_keyspace_stands_at_the_revision_of_the_keys_it_shows(healed, monkeypatch):
    """The mirror's watch can be ahead of the shown member's last report: the keyspace
    is at the later of the two, never below a key it shows. The report is held back
    here; on a busy cluster it lags by up to one report."""
    put = send(healed, "put title/a one")
    wait(healed, lambda v: any(k.key == "title/a" for k in v.keyspace), "the put shown")
    reported = healed.keyspace_target
    monkeypatch.setattr(healed, "keyspace_target",
                        lambda: dataclasses.replace(reported(), revision=1))
    healed.changed()
    view = healed.view()
    shown = {k.key: k for k in view.keyspace}
    assert view.revision >= shown["title/a"].mod_revision >= put.revision
    elsewhere = cache.Keys(view.keyspace, view.key_count, view.keyspace_node % 3 + 1, 10**6)
    assert elsewhere.revision_for(healed.keyspace_target()) == 1, \
        "another member's keys say nothing of this one's revision"


def test_a_big_keyspace_says_how_many_keys_it_holds_beyond_those_shown(healed, monkeypatch):
    monkeypatch.setattr(cache, "KEYS_SHOWN", 3)
    for i in range(5):
        send(healed, f"put many/{i} x")

    def all_keys_counted(v: o.ClusterView) -> bool:
        target = healed.keyspace_target()
        everything = rpc_pb2.RangeRequest(key=b"\0", range_end=b"\0", count_only=True,
                                          serializable=True)
        count = healed.channels.kv(target.url).Range(everything, timeout=5).count
        return len(v.keyspace) == 3 and v.key_count == count >= 5
    wait(healed, all_keys_counted, "the first 3 keys shown, and all of them counted")


class ClosingChannels:
    """Channels the backend closes while a read is on its way, as its close() does."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def __getattr__(self, name):      # kv(url), lease(url), get(url): a stub of any kind
        return lambda url: self

    def closed(self, *args, **kwargs):
        self.stop.set()
        raise ValueError("Cannot invoke RPC: Channel closed!")

    Range = LeaseLeases = closed


def test_reads_cut_short_by_the_backend_closing_end_quietly():
    """close() stops the threads and closes the channels before it joins them: a read
    caught in between fails with ValueError, which must end the thread, not raise (it
    printed a traceback when quitting)."""
    stop = threading.Event()
    target = cache.Target(1, "http://127.0.0.1:1", 5, 0, "http://127.0.0.1:1")
    keyspace = cache.KeyspaceCache(ClosingChannels(stop), lambda: target, lambda: None, stop)
    assert keyspace._refresh(target) is False
    stop.clear()
    mirror = KeyMirror(ClosingChannels(stop), lambda: None, stop)
    mirror.follow(1, target.url)
    mirror.run()                      # returns, where it raised before
    assert stop.is_set() and not mirror.active
    stop.clear()
    channels = ClosingChannels(threading.Event())       # not closing: a real failure
    with pytest.raises(ValueError):
        cache.KeyspaceCache(channels, lambda: target, lambda: None, stop)._refresh(target)


def until(ready: Callable[[], object], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@contextlib.contextmanager
def keyspace_hidden(backend):
    """The interface shows no keyspace (the mirror no longer watches) until the block
    ends, or fails."""
    backend.show_keyspace(False)
    try:
        until(lambda: not backend.keyspace.mirror.watching, "the mirror's watch ended")
        yield
    finally:
        backend.show_keyspace(True)


def test_while_no_keyspace_is_shown_the_mirror_pauses_and_resumes_without_a_gap(healed):
    """No tab shows the keyspace: the mirror stops watching and its copy stays as it was.
    Shown again, its watch resumes at the copy's revision: the changes made meanwhile
    arrive as events (a read would have brought the keys but none of their events, and
    other clients' watchers are shown the events they were sent from those)."""
    mirror, after = healed.keyspace.mirror, {"pause/b0", "pause/b1", "pause/b2"}
    send(healed, "put pause/a zero")
    wait(healed, lambda v: any(k.key == "pause/a" for k in v.keyspace), "the first put")
    with keyspace_hidden(healed):
        meanwhile = [send(healed, f"put pause/b{i} {i}").revision for i in range(3)]
        meanwhile.append(send(healed, "del pause/a").revision)
        wait(healed, lambda v: all(n.revision >= meanwhile[-1] for n in v.nodes if n.up),
             "every member reporting the last change")
        assert mirror.active and mirror.revision < meanwhile[0]
        assert not after & {k.key for k in healed.view().keyspace}

    def caught_up(v: o.ClusterView) -> bool:
        """Every view on the way stands at the revision of the keys it shows: one titled
        at or past the last change shows them all (the copy catching up is not titled
        with the member's newer revision)."""
        keys = {k.key for k in v.keyspace if k.key.startswith("pause/")}
        assert v.revision < meanwhile[-1] or keys == after, (v.revision, keys)
        return keys == after
    view = wait(healed, caught_up, "the changes made meanwhile")
    assert view.revision >= meanwhile[-1]
    seen = [c.revision for c in mirror.recent_changes() if c.key.startswith("pause/")]
    assert seen[-4:] == meanwhile, "each change made while paused, once, in order"


def test_a_compaction_past_the_paused_copy_makes_the_mirror_read_again(healed):
    """Resuming at a compacted revision cannot work: the mirror reads the keys again, so
    the changes made meanwhile come as keys, not events. (It compacts the module's
    cluster: it runs after the tests that need its history.)"""
    with keyspace_hidden(healed):
        send(healed, "put pause/c one")
        compacted = send(healed, "put pause/c two").revision
        send(healed, f"compact {compacted}")
    wait(healed, lambda v: any(k.key == "pause/c" and k.value == "two" for k in v.keyspace),
         "the key as it is after the compaction")
    assert not any(c.key == "pause/c" for c in healed.keyspace.mirror.recent_changes())
    until(lambda: healed.keyspace.mirror.watching, "the mirror watching again")


def test_a_key_history_grows_read_by_read_and_drops_what_compaction_removed(healed,
                                                                           monkeypatch):
    """Histories are read incrementally: each read asks only for the changes since the
    last one, a delete included, and a compaction removes what it removed. (Last in the
    module: it compacts the shared cluster.)"""
    starts = []

    def recording(channel, key, start, current_mod):
        starts.append(start)
        return read_history(channel, key, start, current_mod)
    read_history = cache.read_history
    monkeypatch.setattr(cache, "read_history", recording)

    def history_until(ready, what):
        deadline = time.monotonic() + 10
        while not ready(history := healed.key_history("counter")):
            assert time.monotonic() < deadline, f"{what}: {history}"
            wait(healed, lambda v: True, "any view", 1)
            time.sleep(0.05)
        return history

    revisions = [send(healed, f"put counter {i}").revision for i in range(3)]
    history_until(lambda h: [c.revision for c in h] == revisions[::-1], "three puts")
    revisions.append(send(healed, "put counter 3").revision)
    history = history_until(lambda h: [c.revision for c in h] == revisions[::-1],
                            "a fourth put, after the first three were read")
    assert [c.value for c in history] == ["3", "2", "1", "0"]
    assert revisions[2] < starts[-1] <= revisions[3], "the fourth put was read on its own"
    gone = send(healed, "del counter").revision
    history_until(lambda h: h and (h[0].event, h[0].revision) == ("delete", gone), "the delete")
    send(healed, f"compact {revisions[2]}")
    history_until(lambda h: [c.revision for c in h] == [gone, revisions[3], revisions[2]],
                  "the changes compaction kept")
