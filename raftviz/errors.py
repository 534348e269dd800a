"""One line of text for an error the command line reports: what failed and on what.

An OSError reads as the path and the system's words for it ("/proc/x: No such file or
directory"), not Python's "[Errno 2] ..."; any other error as the first line of its text.
"""

from __future__ import annotations


def error_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {exc.strerror}".lstrip(": ")
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
