"""etcdctl scenarios as data: each scenario is a named list of etcdctl invocations that
run_scenarios.py plays, in this order, against one fresh 3-member cluster.

The order matters and is part of the expected output: revisions are cluster-wide, so every
scenario sees the revisions left by the ones before it. Keep it deterministic:
  * use long lease TTLs and revoke leases explicitly (an expiry deletes keys at a random time);
  * hash the keyspace (hashkv) before any leased key exists, since lease IDs are in the hash;
  * stop streaming commands (watch, elect) after a fixed time, with SIGINT.

Placeholders in arguments, stdin and capture values: `{m1}`..`{m3}` (member IDs, hex, in
endpoint order), `{spare_peer}` (a free loopback host:port nobody listens on), `{tmp}` (a
scratch directory), and anything a step captured earlier (`capture=(("lease", regex),)`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

FIRST, ALL = "first", "all"   # which endpoints etcdctl is given


@dataclass(frozen=True)
class Step:
    command: str                                # etcdctl arguments, shell-quoted
    stdin: str | None = None
    endpoints: str = FIRST
    stream_for: float | None = None             # streaming: SIGINT after this many seconds
    capture: tuple[tuple[str, str], ...] = ()   # (variable, regex with one group) on stdout
    sort_rows: bool = False                     # line order follows IDs, a Go map or a race
    masks: tuple[tuple[str, str], ...] = ()     # extra (regex, replacement) for this step

    @property
    def args(self) -> list[str]:
        return shlex.split(self.command)


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]


def ctl(command: str, **options) -> Step:
    return Step(command, **options)


def scenario(name: str, *steps: Step | str) -> Scenario:
    return Scenario(name, tuple(s if isinstance(s, Step) else Step(s) for s in steps))


SESSION_KEY = (r"^(\w+)/[0-9a-f]+$", r"\1/<session-lease>")   # lock/elect key = name/leaseID

KV_BASICS = scenario(
    "kv_basics",
    "put foo bar",
    "put foo1 bar1",
    "put foo2 bar2",
    "put fop x",
    "put zoo animal",
    "get foo",
    "get nothing",
    "get foo --prefix",
    "get foo --prefix --keys-only",
    "get foo --prefix --print-value-only",
    "get foo --from-key",
    "get '' --prefix --keys-only",
    "get foo --prefix --limit=2",
    "get foo --prefix --limit=2 -w json",
    "get foo zoo",
    "get foo --consistency=s",
    "put foo bar-v2 --prev-kv",
    "get foo --rev=2",
    "get foo --rev=7",
    "get foo -w json",
    "get foo -w fields",
    "get foo -w table",
)

KV_SORTING = scenario(
    "kv_sorting",
    "put s/b 2",
    "put s/a 3",
    "put s/c 1",
    "put s/a 4",
    "get s/ --prefix --sort-by=KEY --order=DESCEND",
    "get s/ --prefix --sort-by=VALUE --order=ASCEND",
    "get s/ --prefix --sort-by=MODIFY --order=DESCEND --keys-only",
    "get s/ --prefix --sort-by=CREATE --order=ASCEND --keys-only",
    "get s/ --prefix --sort-by=VERSION --order=DESCEND -w fields",
    "get s/ --prefix --order=DESCEND --limit=1",
    "get s/ --prefix --sort-by=MODIFY --limit=2 -w json",
)

KV_PUT_DELETE = scenario(
    "kv_put_delete",
    "put --ignore-value nokey",
    "put d/1 one",
    "put d/2 two",
    "put d/3 three",
    "put d/4 four",
    "put d/1 --ignore-value -w json",
    "get d/1 -w json",
    "del d/1",
    "del d/1",
    "del d/ --prefix --prev-kv",
    "put d/5 five",
    "del d/5 -w fields --prev-kv",
    "put e/1 x",
    "put e/2 y",
    "del e/2 --from-key -w json",
    "get e/ --prefix",
)

TXN = scenario(
    "txn",
    "put t/a 1",
    ctl("txn -i", stdin='mod("t/a") > "0"\n\nput t/a "overwrote"\nget t/a\n\n'
                       'put t/a "created"\n\n'),
    ctl("txn -i -w json", stdin='value("t/a") = "nope"\n\nput t/b x\n\n'
                                'get t/a\nput t/c y\ndel t/nothing\n\n'),
    ctl("txn -i", stdin='version("t/a") = "2"\ncreate("t/c") > "0"\n\n'
                        'del t/ --prefix\n\n\n'),
    ctl("txn -i", stdin='\nput t/x 1\nput t/x 2\n\n\n'),
    "get t/ --prefix -w fields",
)

WATCH = scenario(
    "watch",
    "put w/a 1",
    "put w/b 1",
    "put w/a 2",
    "del w/b",
    "put w/c 3",
    ctl("watch --prefix w/ --rev=1", stream_for=1.5),
    ctl("watch w/a --rev=1 --prev-kv", stream_for=1.5),
    ctl("watch --prefix w/ --rev=1 --prev-kv -w json", stream_for=1.5),
    ctl("watch w/ w/c --rev=1", stream_for=1.5),
)

COMPACTION = scenario(
    "compaction",
    "put c/k v1",
    "put c/k v2",
    "put c/k v3",
    "get c/k -w json",
    "compaction 1000",
    "compaction 34",
    "compaction 34",
    "compaction 30",
    "get c/k --rev=33",
    "get c/k --rev=34",
    "get w/ --prefix --rev=34",
    ctl("watch c/k --rev=33", stream_for=1.5),
    ctl("watch c/k --rev=34", stream_for=1.5),
    "compaction --physical 35",
    "get c/k -w json",
)

MAINTENANCE = scenario(
    "maintenance",
    "endpoint status -w json",
    ctl("endpoint status --cluster", sort_rows=True),
    ctl("endpoint status --cluster -w table", sort_rows=True),
    ctl("endpoint health --cluster", sort_rows=True),
    ctl("endpoint health -w table"),
    ctl("endpoint hashkv --cluster", sort_rows=True),
    ctl("endpoint hashkv -w json"),
    "endpoint hashkv --rev=34",
    "endpoint hashkv --rev=35",
    "alarm list",
    "alarm disarm",
    "defrag",
    ctl("defrag --cluster", sort_rows=True),
    "snapshot save {tmp}/snap.db",
    "get c/k",
)

LEASES = scenario(
    "leases",
    ctl("lease grant 100", capture=(("lease", r"lease (\w+) granted"),)),
    "put l/a 1 --lease={lease}",
    "put l/b 2 --lease={lease}",
    "lease timetolive {lease}",
    "lease timetolive {lease} --keys",
    "lease timetolive {lease} --keys -w json",
    "lease keep-alive --once {lease}",
    "lease keep-alive --once {lease} -w json",
    "lease list",
    "get l/a -w json",
    "put l/a 3 --ignore-lease",
    "get l/a -w fields",
    ctl("lease grant 200", capture=(("lease2", r"lease (\w+) granted"),)),
    "lease timetolive {lease2} -w json",
    ctl("lease list", sort_rows=True),
    "lease revoke {lease}",
    "get l/ --prefix",
    "lease timetolive {lease}",
    "lease revoke {lease}",
    "lease keep-alive --once {lease}",
    "put l/c 1 --lease={lease}",
    "lease revoke {lease2}",
    "lease list",
)

# etcd refuses membership changes ("etcdserver: unhealthy cluster") until every voter has
# been connected for 5 s; the streaming steps above already take longer than that.
MEMBERS = scenario(
    "members",
    ctl("member list", sort_rows=True),
    ctl("member list -w table", sort_rows=True),
    ctl("member add learner1 --learner --peer-urls=http://{spare_peer}",
        capture=(("learner", r"Member +(\w+) added"),)),
    ctl("member list", sort_rows=True),
    "member promote {learner}",
    "member update {learner} --peer-urls=http://{spare_peer}",
    "member remove {learner}",
    "member remove {learner}",
    ctl("member list -w table", sort_rows=True),
    "member promote {m2}",
)

LEADERSHIP = scenario(
    "leadership",
    ctl("move-leader {m2}", endpoints=ALL),
    ctl("endpoint status --cluster -w table", sort_rows=True),
    ctl("move-leader {m2}", endpoints=ALL),
    ctl("move-leader 1234", endpoints=ALL),
    ctl("move-leader {m1}", endpoints=ALL),
    ctl("endpoint status --cluster", sort_rows=True),
)

LOCK_ELECT = scenario(
    "lock_elect",
    "lock mylock -- echo held",
    "lock mylock -- sh -c 'echo held again; exit 3'",
    ctl("elect myelection proposal1", stream_for=1.5, masks=(SESSION_KEY,)),
    "get my --prefix -w json",
    "put after-lock done -w json",
)

SCENARIOS: tuple[Scenario, ...] = (
    KV_BASICS, KV_SORTING, KV_PUT_DELETE, TXN, WATCH, COMPACTION, MAINTENANCE, LEASES,
    MEMBERS, LEADERSHIP, LOCK_ELECT,
)
