"""Crash injection for the file-ops seam: kill the "process" at any filesystem call.

`CrashingFileOps` does the real operations until its budget of mutating calls (create,
write, fsync, truncate, rename, unlink, mkdir, fsync_dir) is spent, then raises `Crash` at
the next one. A write at the crash point can be torn: only a prefix reaches the file.

With `power_loss=True` the crash also models losing the machine, not just the process:
file bytes that were never fsynced are cut back (keeping the same torn fraction of them),
and directory changes (creations, renames, unlinks, mkdirs) not followed by an fsync of
their directory are undone, newest first. Truncation is treated as immediately durable.
Everything happens on real files, so the code under test runs unchanged.
"""

from __future__ import annotations

import os
import shutil

from .fileops import FileOps


class Crash(BaseException):
    """The simulated process died here. A BaseException so `except Exception` in the code
    under test cannot swallow it."""


class CrashingFileOps(FileOps):
    def __init__(self, crash_after: int | None = None, tear: float = 0.0,
                 power_loss: bool = False) -> None:
        self.crash_after = crash_after   # calls allowed to complete; None = never crash
        self.tear = tear                 # fraction of the fatal write (or unsynced tail) kept
        self.power_loss = power_loss
        self.ops = 0
        self.crashed = False
        self.trace: list[str] = []       # "write wal/0001.wal", for failure messages
        self._fds: dict[int, str] = {}
        self._synced: dict[str, int] = {}     # path -> durable length
        # (directory, undo record) for directory changes not yet made durable by fsync_dir
        self._pending: list[tuple[str, tuple]] = []

    # -- the budget --

    def _step(self, name: str, path: str) -> bool:
        """Count one mutating call; False means it is the fatal one."""
        if self.crashed:
            raise Crash("already crashed")
        self.ops += 1
        self.trace.append(f"{name} {path}")
        return self.crash_after is None or self.ops <= self.crash_after

    def _path(self, fd: int) -> str:
        return self._fds.get(fd, f"<fd {fd}>")

    def _die(self) -> None:
        self.crashed = True
        if self.power_loss:
            self._lose_volatile_state()
        for fd in list(self._fds):
            os.close(fd)
        self._fds.clear()
        raise Crash(f"crashed at call {self.ops}: {self.trace[-1]}")

    # -- mutating calls --

    def create(self, path: str, mode: int = 0o600) -> int:
        if not self._step("create", path):
            self._die()
        existed = os.path.exists(path)
        fd = super().create(path, mode)
        self._fds[fd] = path
        self._synced[path] = 0
        if not existed:
            self._pending.append((_parent(path), ("create", path)))
        return fd

    def open_append(self, path: str) -> int:
        fd = super().open_append(path)
        self._fds[fd] = path
        self._synced.setdefault(path, os.path.getsize(path))
        return fd

    def write(self, fd: int, data: bytes) -> None:
        if not self._step("write", self._path(fd)):
            super().write(fd, data[:int(len(data) * self.tear)])
            self._die()
        super().write(fd, data)

    def fsync(self, fd: int) -> None:
        path = self._path(fd)
        if not self._step("fsync", path):
            self._die()
        super().fsync(fd)
        self._synced[path] = os.path.getsize(path)

    def close(self, fd: int) -> None:
        if self.crashed:
            return          # the dead process's descriptors were closed by _die
        del self._fds[fd]
        super().close(fd)

    def truncate(self, path: str, size: int) -> None:
        if not self._step("truncate", path):
            self._die()
        super().truncate(path, size)
        self._synced[path] = min(self._synced.get(path, size), size)

    def rename(self, src: str, dst: str) -> None:
        if not self._step("rename", dst):
            self._die()
        old = self._durable_bytes(dst) if os.path.exists(dst) else None
        super().rename(src, dst)
        self._pending.append((_parent(dst), ("rename", src, dst, old)))
        if src in self._synced:
            self._synced[dst] = self._synced.pop(src)
        for fd, p in self._fds.items():
            if p == src:
                self._fds[fd] = dst

    def unlink(self, path: str) -> None:
        if not self._step("unlink", path):
            self._die()
        content = self._durable_bytes(path)
        super().unlink(path)
        self._synced.pop(path, None)
        self._pending.append((_parent(path), ("unlink", path, content)))

    def mkdir(self, path: str, mode: int = 0o700) -> None:
        if not self._step("mkdir", path):
            self._die()
        super().mkdir(path, mode)
        self._pending.append((_parent(path), ("mkdir", path)))

    def fsync_dir(self, path: str) -> None:
        if not self._step("fsync_dir", path):
            self._die()
        super().fsync_dir(path)
        target = os.path.normpath(path)
        self._pending = [(d, op) for d, op in self._pending if d != target]

    # -- power loss --

    def _durable_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            data = f.read()
        return data[:self._synced.get(path, len(data))]

    def _lose_volatile_state(self) -> None:
        for path, synced in self._synced.items():
            if os.path.exists(path):
                size = os.path.getsize(path)
                keep = synced + int(max(0, size - synced) * self.tear)
                os.truncate(path, min(size, keep))
        for _, op in reversed(self._pending):
            _undo(op)
        self._pending.clear()


def _parent(path: str) -> str:
    return os.path.dirname(os.path.normpath(path))


def _undo(op: tuple) -> None:
    kind = op[0]
    if kind == "create" and os.path.exists(op[1]):
        os.unlink(op[1])
    elif kind == "rename":
        _, src, dst, old = op
        if os.path.exists(dst):
            os.replace(dst, src)
        if old is not None:
            with open(dst, "wb") as f:
                f.write(old)
    elif kind == "unlink":
        with open(op[1], "wb") as f:
            f.write(op[2])
    elif kind == "mkdir" and os.path.exists(op[1]):
        shutil.rmtree(op[1])
