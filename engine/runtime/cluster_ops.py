"""Membership and leadership operations of a live member (etcd's Cluster service and
MoveLeader), mixed into EtcdServer.

Every change is one single-step configuration entry through the Raft log, waited for
until this member applied it; the checks before proposing are etcd's (a peer URL in use,
an id in use or removed, more than one learner, promoting a learner that has not caught
up).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import trio

from engine.raft import ConfChange, ConfChangeType, ProposalDropped, StateType

from . import errors_etcd as err
from .envelope import Kind, wrap
from .membership import Member, Membership, added_member_id

if TYPE_CHECKING:
    from .server import EtcdServer


class MembershipMixin:
    async def change_membership(self: EtcdServer, cc_type: ConfChangeType,
                                member: Member) -> Membership:
        """Propose one single-step configuration change and wait for it to apply here."""
        rid = self.ids.next()
        waiter = self.waiters.register(rid)
        cc = ConfChange(cc_type, member.id, wrap(Kind.MEMBER_ATTR, rid, member.encode()))

        def propose() -> None:
            try:
                self.rawnode.propose_conf_change(cc)
            except ProposalDropped as e:
                self.waiters.trigger(rid, error=err.ServerError(
                    f"etcdserver: {e}", "FAILED_PRECONDITION"))

        self.call_in_loop(propose)
        return await self._applied_result(rid, waiter)

    async def member_add(self: EtcdServer, peer_urls: tuple[str, ...], is_learner: bool) -> Member:
        taken = {u for m in self.membership.members.values() for u in m.peer_urls}
        if taken & set(peer_urls):
            raise err.peer_url_exists()
        if is_learner and self.membership.learners():
            raise err.ServerError("etcdserver: too many learner members in cluster",
                                  "FAILED_PRECONDITION")
        new_id = added_member_id(peer_urls, int(time.time()))
        if new_id in self.membership.members:
            raise err.member_exists()
        if new_id in self.membership.removed:
            raise err.member_not_found()      # etcd's answer to a removed id
        member = Member(new_id, "", peer_urls, (), is_learner)
        kind = ConfChangeType.ADD_LEARNER if is_learner else ConfChangeType.ADD_NODE
        await self.change_membership(kind, member)
        return member

    async def member_remove(self: EtcdServer, mid: int) -> Membership:
        member = self.membership.members.get(mid)
        if member is None:
            raise err.member_not_found()
        return await self.change_membership(ConfChangeType.REMOVE_NODE, member)

    async def member_promote(self: EtcdServer, mid: int) -> Membership:
        member = self.membership.members.get(mid)
        if member is None:
            raise err.member_not_found()
        if not member.is_learner:
            raise err.not_learner()
        if self.role is not StateType.LEADER:
            raise err.not_leader()
        self._check_learner_ready(mid)
        return await self.change_membership(ConfChangeType.ADD_NODE, member)

    def _check_learner_ready(self: EtcdServer, mid: int) -> None:
        """etcd promotes a learner only once it holds 90% of the leader's log."""
        progress = self.rawnode.status().progress
        learner, mine = progress.get(mid), progress.get(self.id)
        if learner is None or mine is None or learner.match < 0.9 * mine.match:
            raise err.learner_not_ready()

    async def member_update(self: EtcdServer, mid: int, peer_urls: tuple[str, ...]) -> Membership:
        m = self.membership.members.get(mid)
        if m is None:
            raise err.member_not_found()
        updated = Member(m.id, m.name, peer_urls, m.client_urls, m.is_learner)
        await self._wait_applied(Kind.MEMBER_UPDATE, updated.encode())
        return self.membership

    async def move_leader(self: EtcdServer, target: int) -> None:
        if self.role is not StateType.LEADER:
            raise err.not_leader()
        if target not in self.membership.voters():
            raise err.bad_leader_transferee()
        self.call_in_loop(lambda: self.rawnode.transfer_leader(target))
        with trio.move_on_after(self.cfg.election_ms / 1000 * 2):
            while self.lead != target:
                await trio.sleep(self.cfg.heartbeat_ms / 1000)
            return
        raise err.ServerError("etcdserver: request timed out, leader transfer took too long",
                              "UNAVAILABLE")

