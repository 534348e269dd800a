"""Errors of the durable storage layer: the disk (or an operator) did something wrong.

Every message is one line and names the file, and where it matters the byte offset, so an
operator can look at the exact spot.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class for durable storage problems."""


class WALCorrupt(StorageError):
    """A WAL record that is damaged somewhere other than a repairable torn tail."""


class DataDirError(StorageError):
    """The data directory is not ours to open: another cluster or node, a newer format,
    a damaged meta file, or a directory that is not a raftviz data dir at all."""


class SnapCorrupt(StorageError):
    """A snapshot file that fails its checks; the loader skips it and reports it."""
