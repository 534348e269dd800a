"""The file-ops seam: every filesystem call the WAL, snapshot and data-dir code makes.

Durable storage never calls `os` directly; it calls a `FileOps`. The default does the real
thing. Tests substitute `engine.runtime.crashfs.CrashingFileOps` to kill the "process" after
any single write, fsync or rename, and to drop what was never fsynced.
"""

from __future__ import annotations

import os


class FileOps:
    """Real filesystem operations, on paths and raw file descriptors."""

    # -- mutating calls (the ones a crash can interrupt) --

    def create(self, path: str, mode: int = 0o600) -> int:
        """Open a new or truncated file for writing."""
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def open_append(self, path: str) -> int:
        """Open an existing file for appending."""
        return os.open(path, os.O_WRONLY | os.O_APPEND)

    def write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def truncate(self, path: str, size: int) -> None:
        os.truncate(path, size)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def mkdir(self, path: str, mode: int = 0o700) -> None:
        os.mkdir(path, mode)
        os.chmod(path, mode)   # mkdir's mode is filtered by the umask; be exact

    def fsync_dir(self, path: str) -> None:
        """Make creations, renames and unlinks in `path` durable."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- reading calls --

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)


REAL_FILE_OPS = FileOps()
