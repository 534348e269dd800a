"""engine.check: checkers for recorded histories, after Jepsen and etcd's robustness tests.

Sans-IO and self-contained (stdlib and sortedcontainers only), so a history recorded
anywhere (the simulator, the live cluster, a real etcd) can be checked:

    ops = [Operation(i, client, invoke, complete, request, response), ...]   # history.py
    check_linearizable(ops)            # WGL search per key partition, revision order
    check_watches(streams, store)      # ordered, unique, atomic, reliable, progress
    check_durability(ops, store)       # acknowledged writes survive, nothing made up
    check_leases(ops, store, bounds)   # not early, not (much) late, whole revocations

Each returns `Verdicts`: a list of `Finding`s (checker, summary, evidence lines, the
evidence shrunk to a few operations where it can be) and how many histories it checked.
"""

from .durability import check_durability
from .findings import UNDECIDED_NOTE, Finding, Verdicts, format_finding
from .history import (
    DELETE, KV, PUT, Compare, Delete, Failed, Get, LeaseAlive, LeaseExpire, LeaseGrant,
    LeaseGranted, LeaseKeepAlive, LeaseRevoke, Operation, Put, Read, StoreEvent,
    StoreHistory, Txn, TxnResult, Written, describe_op,
)
from .kvmodel import KVModel
from .leases import LeaseBounds, check_leases
from .linearizable import check_linearizable, check_revision_order
from .watch import WatchReply, WatchStream, check_watches
from .wgl import FAIL, OK, UNDECIDED, SearchResult, check

__all__ = [
    "DELETE", "FAIL", "KV", "OK", "PUT", "UNDECIDED",
    "Compare", "Delete", "Failed", "Finding", "Get", "KVModel", "LeaseAlive", "LeaseBounds",
    "LeaseExpire", "LeaseGrant", "LeaseGranted", "LeaseKeepAlive", "LeaseRevoke",
    "Operation", "Put", "Read", "SearchResult", "StoreEvent", "StoreHistory", "Txn",
    "TxnResult", "UNDECIDED_NOTE", "Verdicts", "WatchReply", "WatchStream", "Written", "check",
    "check_durability", "check_leases", "check_linearizable", "check_revision_order",
    "check_watches", "describe_op", "format_finding",
]
