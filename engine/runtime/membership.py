"""Cluster membership as etcd keeps it: members with names, peer and client URLs.

Ids follow etcd's rules. A founding member's id is a hash of its peer URLs and the cluster
token, the cluster id a hash of the token, so a cluster started twice with the same flags
has the same ids. A member added later (`member add`) gets a hash of its peer URLs and the
time instead, so it never gets the id of a member removed before (etcd refuses a removed
id for good); the joining process learns that id from the cluster (join.py). Membership
changes travel through the Raft log as configuration entries whose context is the member
encoded here; the applied table is part of every snapshot.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...] = ()
    is_learner: bool = False

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> Member:
        try:
            d = json.loads(data)
            return cls(int(d["id"]), str(d["name"]), tuple(d["peer_urls"]),
                       tuple(d.get("client_urls", ())), bool(d.get("is_learner", False)))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"bad member record: {e}") from None


def _hash64(data: bytes) -> int:
    value = struct.unpack(">Q", hashlib.sha1(data).digest()[:8])[0]
    return value or 1   # 0 means "no node" to Raft


def member_id(peer_urls: tuple[str, ...], token: str) -> int:
    """A founding member's id (etcd: the peer URLs and the cluster token)."""
    return _hash64("".join(sorted(peer_urls)).encode() + token.encode())


def added_member_id(peer_urls: tuple[str, ...], unix_seconds: int) -> int:
    """The id of a member added to a running cluster (etcd: the peer URLs and the time)."""
    return _hash64("".join(sorted(peer_urls)).encode() + str(unix_seconds).encode())


def cluster_id(token: str) -> int:
    """The cluster id follows from the token alone, so a member joining later (whose
    --initial-cluster also names itself) computes the same id as the founders."""
    return _hash64(b"cluster:" + token.encode())


def parse_initial_cluster(text: str) -> dict[str, tuple[str, ...]]:
    """'n1=http://a:2380,n2=http://b:2380' -> {'n1': ('http://a:2380',), ...}."""
    members: dict[str, list[str]] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise ValueError(f"invalid --initial-cluster item {item!r}: expected name=url")
        members.setdefault(name, []).append(url)
    if not members:
        raise ValueError("--initial-cluster is empty")
    return {name: tuple(urls) for name, urls in members.items()}


@dataclass
class Membership:
    cluster_id: int = 0
    members: dict[int, Member] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)

    @classmethod
    def initial(cls, initial_cluster: dict[str, tuple[str, ...]], token: str) -> Membership:
        members = {}
        for name, urls in initial_cluster.items():
            mid = member_id(urls, token)
            members[mid] = Member(mid, name, urls)
        return cls(cluster_id(token), members)

    def voters(self) -> tuple[int, ...]:
        return tuple(sorted(m.id for m in self.members.values() if not m.is_learner))

    def learners(self) -> tuple[int, ...]:
        return tuple(sorted(m.id for m in self.members.values() if m.is_learner))

    def by_name(self, name: str) -> Member | None:
        return next((m for m in self.members.values() if m.name == name), None)

    def by_peer_urls(self, peer_urls: tuple[str, ...]) -> Member | None:
        return next((m for m in self.members.values()
                     if sorted(m.peer_urls) == sorted(peer_urls)), None)

    def add(self, m: Member) -> None:
        self.members[m.id] = m

    def remove(self, mid: int) -> None:
        self.members.pop(mid, None)
        self.removed.add(mid)

    def promote(self, mid: int) -> None:
        m = self.members[mid]
        self.members[mid] = Member(m.id, m.name, m.peer_urls, m.client_urls, False)

    def update(self, m: Member) -> None:
        self.members[m.id] = m

    def encode(self) -> bytes:
        return json.dumps({
            "cluster_id": self.cluster_id,
            "members": [asdict(m) for m in sorted(self.members.values(), key=lambda m: m.id)],
            "removed": sorted(self.removed),
        }, sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> Membership:
        try:
            d = json.loads(data)
            members = {int(m["id"]): Member.decode(json.dumps(m).encode()) for m in d["members"]}
            return cls(int(d["cluster_id"]), members, set(int(x) for x in d["removed"]))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"bad membership record: {e}") from None
