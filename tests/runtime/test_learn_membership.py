"""Joining a running cluster: the membership is asked of the members named in
--initial-cluster, and every way that can fail is one clear line."""

import pytest
import trio

from engine.runtime.join import JoinError, learn_membership
from engine.runtime.membership import Member, Membership
from engine.runtime.transport import PeerTransport
from raftviz.cmd_up import free_ports

pytestmark = pytest.mark.trio


def flags_for(port_a: int, port_b: int, token: str = "t") -> Membership:
    return Membership.initial({"a": (f"http://127.0.0.1:{port_a}",),
                               "b": (f"http://127.0.0.1:{port_b}",)}, token)


async def serving(nursery, membership: Membership) -> int:
    t = PeerTransport(1, ("127.0.0.1", 0), lambda m: None, members=membership.encode)
    return await nursery.start(t.run, {})


async def test_the_joiner_takes_the_id_the_cluster_gave_it():
    async with trio.open_nursery() as n:
        (b_port,) = free_ports(1)
        cluster = Membership.initial({"a": ("http://127.0.0.1:1",)}, "t")
        cluster.add(Member(0xAB, "", (f"http://127.0.0.1:{b_port}",), is_learner=True))
        a_port = await serving(n, cluster)
        learned, my_id = await learn_membership(flags_for(a_port, b_port), "b")
        assert my_id == 0xAB and learned.members == cluster.members
        n.cancel_scope.cancel()


async def test_another_clusters_answer_is_refused():
    async with trio.open_nursery() as n:
        (b_port,) = free_ports(1)
        other = Membership.initial({"a": ("http://127.0.0.1:1",)}, "other-token")
        a_port = await serving(n, other)
        with pytest.raises(JoinError, match="check --initial-cluster-token"):
            await learn_membership(flags_for(a_port, b_port), "b")
        n.cancel_scope.cancel()


async def test_nobody_answering_gives_up_at_the_deadline(autojump_clock):
    a_port, b_port = free_ports(2)        # nothing listens on either
    with pytest.raises(JoinError, match=r"could not get the cluster's membership from "
                                        rf"http://127.0.0.1:{a_port} within 3s"):
        await learn_membership(flags_for(a_port, b_port), "b", deadline_s=3)


async def test_a_joiner_alone_in_its_initial_cluster_has_nobody_to_ask():
    alone = Membership.initial({"b": ("http://127.0.0.1:1",)}, "t")
    with pytest.raises(JoinError, match="needs the other members in --initial-cluster"):
        await learn_membership(alone, "b")
