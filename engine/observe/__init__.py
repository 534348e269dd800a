"""What a user interface sees of a cluster, and what it may ask of it: the driver contract.

Any driver (the deterministic simulator, the live trio cluster, a real etcd cluster)
hands out immutable snapshots of the whole cluster (`ClusterView`) and accepts commands
(`Tick`, `Deliver`, `Partition`, `Crash`, ...). A driver that cannot do something leaves
that `Cap` out of its capabilities, so an interface can show the control as unavailable
instead of failing. Every view is a frozen, slotted dataclass: safe to share between
threads and tasks, cheap to compare, and never a window onto live engine state.

`views` holds the snapshots, `commands` what may be asked, `kinds` the enums both use;
this module the protocol itself (`Backend`) and re-exports the rest as one vocabulary.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from .commands import *  # noqa: F401,F403 - each module lists its names in __all__
from .kinds import *  # noqa: F401,F403
from .views import *  # noqa: F401,F403


class CommandRefused(Exception):
    """The command cannot be carried out now (unknown node, node down, nothing to undo).
    Its text says why in a sentence meant for the user."""


@runtime_checkable
class Backend(Protocol):
    """A cluster an interface can watch and steer."""

    @property
    def capabilities(self) -> frozenset[Cap]: ...

    def view(self) -> ClusterView:
        """The cluster as it is now."""
        ...

    def execute(self, command: Command) -> str:
        """Carry out a command; return a one-line explanation of what it did. Raises
        CommandRefused when it cannot."""
        ...

    def client(self, line: str, node: int = 0) -> ClientResult:
        """Send an etcdctl-like request; the answer may still be pending (see the
        request's trace in later views)."""
        ...

    def key_history(self, key: str) -> tuple[KeyRevision, ...]:
        """Every change to `key` still kept (newest first), on the keyspace node."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (with no arguments, never blocking the driver) whenever the
        cluster changed; returns a function that unsubscribes."""
        ...

    def show_keyspace(self, shown: bool) -> None:
        """Whether the interface shows the keyspace, leases and watches now (it does until
        told otherwise). A driver that pays to keep them current may stop while they
        are not shown, views then carrying them as last known, and must catch up when
        they are shown again."""
        ...
