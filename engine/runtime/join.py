"""How a new member joins a running cluster (--initial-cluster-state existing).

As etcd does, the member asks the others named in --initial-cluster for the cluster's
membership (over the peer port), finds itself in it by its peer URLs, and takes the id
the cluster gave it when it was added with `member add`: that id mixes in the time, so
the joining process could not work it out from its flags. A member restarting from its
data dir does not ask again: its id is in the data dir.
"""

from __future__ import annotations

import logging

import trio

from engine.wire import DEFAULT_MAX_FRAME_SIZE, WireError

from .membership import Member, Membership
from .transport import fetch_membership, parse_host_port

log = logging.getLogger("raftviz.join")

ASK_EACH_S = 2.0       # how long one member may take to answer
RETRY_S = 0.2


class JoinError(Exception):
    """The member cannot join; the text says why in one line."""


async def learn_membership(flags: Membership, name: str, *, deadline_s: float = 10.0,
                           ssl_client=None, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
                           ) -> tuple[Membership, int]:
    """The cluster's membership as a running member reports it, and this member's id."""
    me = flags.by_name(name)
    if me is None:
        raise JoinError(f"--initial-cluster has no member named {name!r}")
    others = [m for m in flags.members.values() if m.name != name]
    if not others:
        raise JoinError("--initial-cluster-state existing needs the other members in "
                        "--initial-cluster, to ask them for the cluster's membership")
    problems: list[str] = []
    with trio.move_on_after(deadline_s):
        while True:
            for peer in others:
                found = await _ask(peer, ssl_client, max_frame_size, problems)
                if found is not None:
                    return _find_self(found, flags, me)
            await trio.sleep(RETRY_S)
    last = problems[-1] if problems else "no answer"
    raise JoinError(f"could not get the cluster's membership from "
                    f"{', '.join(p.peer_urls[0] for p in others)} within {deadline_s:g}s "
                    f"({last})")


async def _ask(peer: Member, ssl_client, max_frame_size: int,
               problems: list[str]) -> Membership | None:
    try:
        with trio.fail_after(ASK_EACH_S):
            blob = await fetch_membership(parse_host_port(peer.peer_urls[0]), ssl_client,
                                          max_frame_size)
        return Membership.decode(blob)
    except (OSError, WireError, ValueError, trio.TooSlowError) as e:
        problems.append(f"{peer.peer_urls[0]}: {e or type(e).__name__}")
        return None


def _find_self(cluster: Membership, flags: Membership, me: Member) -> tuple[Membership, int]:
    if cluster.cluster_id != flags.cluster_id:
        raise JoinError(f"the cluster answering is {cluster.cluster_id:x}, not "
                        f"{flags.cluster_id:x}: check --initial-cluster-token")
    added = cluster.by_peer_urls(me.peer_urls)
    if added is None:
        raise JoinError(f"no member of the cluster has the peer URLs "
                        f"{','.join(me.peer_urls)}: add this member first "
                        f"(etcdctl member add {me.name} --peer-urls={me.peer_urls[0]})")
    log.info("member %x: joining cluster %x as %s", added.id, cluster.cluster_id, me.name)
    return cluster, added.id
