"""The normalizer maps IDs to labels whatever their width: etcdctl pads short hex IDs."""

from __future__ import annotations

from tests.etcd.normalize import Names


def test_a_padded_short_id_reads_like_a_full_one():
    names = Names()
    names.add("cluster", "f1a2b3c4d5e6f70")          # 15 hex digits: printed padded to 16
    names.add("learner", "8e9f0a1b2c3d4e5f")
    assert names.replace("Member 8e9f0a1b2c3d4e5f added to cluster  f1a2b3c4d5e6f70") == \
        "Member <learner> added to cluster <cluster>"
    assert names.replace("Member 8e9f0a1b2c3d4e5f added to cluster f1a2b3c4d5e6f70") == \
        "Member <learner> added to cluster <cluster>"
    assert names.replace('{"cluster_id":1088229797959462768}') == '{"cluster_id":<cluster>}'
    assert names.replace("f1a2b3c4d5e6f70, started") == "<cluster>, started"
