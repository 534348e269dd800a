"""LiveBackend's keyspace on real member processes: the mirror that follows one member's
keys by watching them, the count beyond the keys shown, and key histories read one change
at a time. One 3-member cluster serves the module (conftest)."""

from __future__ import annotations

import dataclasses
import threading
import time

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
