"""Opening the Textual interface on a live cluster: the command line's entry points.

`run_live` starts a fresh local cluster and stops it when the interface quits;
`run_attach` watches members that run already and leaves them running. Either prints one
line and returns 1, without a traceback, when the cluster cannot be started or reached.
"""

from __future__ import annotations

import sys

from .live import LiveBackend, LiveError


def run_live(nodes: int = 3, data_dir: str | None = None, *, theme: str | None = None) -> int:
    """`raftviz [--nodes N] [--data-dir DIR]`: the interface on a fresh local cluster,
    stopped when the interface quits."""
    print(f"starting a {nodes}-member cluster on loopback ...", file=sys.stderr, flush=True)
    try:
        backend = LiveBackend.start(nodes, data_dir)
    except LiveError as exc:
        print(f"raftviz: {exc}", file=sys.stderr)
        return 1
    return _run_app(backend, theme)


def run_attach(endpoints: str | list[str], *, theme: str | None = None) -> int:
    """`raftviz attach ENDPOINTS`: the interface on running members (comma-separated)."""
    try:
        backend = LiveBackend.attach(endpoints)
    except LiveError as exc:
        print(f"raftviz attach: {exc}", file=sys.stderr)
        return 1
    return _run_app(backend, theme)


def _run_app(backend: LiveBackend, theme: str | None) -> int:
    from .ui.app import run_backend   # Textual loads only when a screen is wanted
    try:
        run_backend(backend, theme=theme)
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
    return 0
