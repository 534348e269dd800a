"""Every message the interface's widgets send upward, in one place.

Widgets never call the backend: they post one of these, and the app (through
`Controls`) turns it into a command, a client request or a change of focus.
"""

from __future__ import annotations

from textual.message import Message

from engine.observe import Command


class RunCommand(Message):
    """Ask for a cluster command to be carried out."""

    def __init__(self, command: Command) -> None:
        super().__init__()
        self.command = command


class ClientLine(Message):
    """The user typed an etcdctl-like line into the client box."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class RequestAnswered(Message):
    """A request sent from the client box, pending when sent, got its answer."""

    def __init__(self, request_id: str, line: str, node: int) -> None:
        super().__init__()
        self.request_id, self.line, self.node = request_id, line, node


class FollowRequest(Message):
    """Show this request's whole path (None: stop following)."""

    def __init__(self, request_id: str | None) -> None:
        super().__init__()
        self.request_id = request_id


class KeySelected(Message):
    """The user picked a key in the keyspace table."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class MessagePicked(Message):
    """The user chose a message in a message list: deliver it, or drop it."""

    def __init__(self, msg_id: int, drop: bool = False) -> None:
        super().__init__()
        self.msg_id = msg_id
        self.drop = drop


class NodeClicked(Message):
    """The user clicked a node: offer what can be done to it."""

    def __init__(self, node_id: int) -> None:
        super().__init__()
        self.node_id = node_id
