"""The simulated network: cuts (full, partial, one-way), late senders, loss, duplication."""

import random

from engine.raft import Message, MessageType
from engine.sim.network import Network, isolate, split
from engine.sim.params import derive_params


def net(nodes=3, **overrides):
    fields = dict(latency_lo=10, latency_span=20, drop_rate=0.0, dup_rate=0.0)
    fields.update(overrides)
    return Network(derive_params(1, nodes, **fields), random.Random(7))


def msg(frm, to):
    return Message(MessageType.HEARTBEAT, to=to, frm=frm, term=1)


def test_latency_is_drawn_per_message_so_messages_reorder():
    n = net()
    times = [n.arrivals(msg(1, 2), 100)[0] for _ in range(200)]
    assert min(times) >= 110 and max(times) < 130
    assert times != sorted(times)


def test_a_full_partition_cuts_every_link_across_it():
    n = net(5)
    n.cut_links(1, split([1, 2, 3, 4, 5], [[1, 2], [3, 4, 5]]))
    assert n.arrivals(msg(1, 3), 0) is None and n.arrivals(msg(4, 2), 0) is None
    assert n.arrivals(msg(1, 2), 0) and n.arrivals(msg(3, 5), 0)


def test_a_partial_partition_leaves_some_peers_reachable():
    n = net(5)
    n.cut_links(1, isolate([1, 2, 3, 4, 5], 1, [2, 3]))
    assert n.arrivals(msg(1, 2), 0) is None and n.arrivals(msg(3, 1), 0) is None
    assert n.arrivals(msg(1, 4), 0) and n.arrivals(msg(5, 1), 0)
    assert n.arrivals(msg(2, 3), 0)


def test_a_one_way_cut_loses_only_one_direction():
    n = net()
    n.cut_links(1, isolate([1, 2, 3], 1, [2], one_way=True))
    assert n.arrivals(msg(1, 2), 0) is None
    assert n.arrivals(msg(2, 1), 0)


def test_overlapping_faults_end_independently():
    n = net()
    n.cut_links(1, isolate([1, 2, 3], 1))
    n.cut_links(2, isolate([1, 2, 3], 2))
    n.end_fault(1)
    assert n.arrivals(msg(1, 3), 0)
    assert n.arrivals(msg(2, 3), 0) is None
    n.heal()
    assert n.arrivals(msg(2, 3), 0)


def test_a_late_sender_arrives_late():
    n = net()
    n.delay_node(1, 2, 1000)
    assert n.arrivals(msg(2, 1), 0)[0] >= 1010
    assert n.arrivals(msg(1, 2), 0)[0] < 30
    n.end_fault(1)
    assert n.arrivals(msg(2, 1), 0)[0] < 30


def test_loss_and_duplication_follow_their_rates():
    n = net(drop_rate=0.2, dup_rate=0.1)
    fates = [n.arrivals(msg(1, 2), 0) for _ in range(5000)]
    lost = sum(1 for f in fates if f == ())
    doubled = sum(1 for f in fates if len(f) == 2)
    assert 800 < lost < 1200
    assert 300 < doubled < 500


def test_healing_reliably_stops_loss():
    n = net(drop_rate=0.5, dup_rate=0.5)
    n.heal(reliable=True)
    assert all(len(n.arrivals(msg(1, 2), 0)) == 1 for _ in range(100))
