"""`raftviz` in a real terminal (a pty) quits cleanly when killed or when its terminal
closes: its member processes stop and its temporary data dir is removed."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

START_S = 60.0
QUIT_S = 30.0


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def drain(fd: int, screen: bytearray, reading: threading.Event | None = None) -> None:
    """Read the app's screen output (so it never blocks on a full pty), keeping the last
    of it; stop reading once `reading` is cleared."""
    while reading is None or reading.is_set():
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        screen[:] = (screen + data)[-200_000:]


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def raftviz_in_a_pty(tmp_path: Path, reading: threading.Event):
    """`raftviz` on a pty whose output is read while `reading` is set; yields the process
    and the pty's side, once the interface is on screen and its cluster running. Whatever
    the test leaves running is killed."""
    master, slave = pty.openpty()
    env = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "xterm-256color"}
    app = subprocess.Popen([sys.executable, "-m", "raftviz"], stdin=slave, stdout=slave,
                           stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    screen = bytearray()
    threading.Thread(target=drain, args=(master, screen, reading), daemon=True).start()
    try:
        wait_until(lambda: data_dirs(tmp_path) and
                   len(processes_mentioning(str(data_dirs(tmp_path)[0]))) >= 3,
                   START_S, "the cluster's three members")
        wait_until(lambda: b"Keyspace" in screen, START_S, "the interface on screen")
        yield app, master
    finally:
        if app.poll() is None:
            app.kill()
        for pid in processes_mentioning(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)
        os.close(master)


def data_dirs(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("raftviz-*"))


def quits_leaving_nothing(app: subprocess.Popen, tmp_path: Path, quit_signal: int) -> None:
    app.send_signal(quit_signal)
    assert app.wait(QUIT_S) is not None
    assert not data_dirs(tmp_path)
    assert not processes_mentioning(str(tmp_path))      # every member stopped


@pytest.mark.parametrize("quit_signal", [signal.SIGTERM, signal.SIGHUP])
def test_a_killed_interface_stops_its_members_and_removes_its_data_dir(tmp_path, quit_signal):
    reading = threading.Event()
    reading.set()
    with raftviz_in_a_pty(tmp_path, reading) as (app, _):
        quits_leaving_nothing(app, tmp_path, quit_signal)


def pending(fd: int) -> int:
    """Bytes written to the pty that nobody has read yet."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")


def test_an_interface_whose_terminal_takes_no_more_output_still_stops_its_members(tmp_path):
    """A terminal that is gone or stuck takes no more output: Textual's writes back up
    until its event loop waits on them. SIGHUP must still stop the members and end the
    process (it used to wait for ever, the members left running)."""
    reading = threading.Event()
    reading.set()
    with raftviz_in_a_pty(tmp_path, reading) as (app, master):
        reading.clear()          # the nodes' traffic keeps redrawing the list beside the logs

        def backed_up() -> bool:       # output waiting, and none taken for half a second
            before = pending(master)
            time.sleep(0.5)
            return before > 0 and pending(master) == before
        wait_until(backed_up, START_S, "the pty full and the app's output waiting")
        quits_leaving_nothing(app, tmp_path, signal.SIGHUP)
