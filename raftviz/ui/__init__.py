"""raftviz's terminal interface (Textual) on any `engine.observe.Backend`.

Entry points: `run_sim(seed, nodes, at_event, scenario)` and `run_backend(backend)`.
"""

import os

# Textual paints a change at its screen timer's next tick, up to 1/TEXTUAL_FPS later (60
# by default), and under load it skips ticks that come late. raftviz limits how often the
# views change (app.REFRESH_HZ), so a faster tick adds no frames; it only shortens that
# wait (`raftviz bench ui` measures the difference). Set before Textual loads, which
# reads it once; a TEXTUAL_FPS the user set wins.
os.environ.setdefault("TEXTUAL_FPS", "120")

from .app import RaftvizApp, build_sim, run_backend, run_sim  # noqa: E402

__all__ = ["RaftvizApp", "build_sim", "run_backend", "run_sim"]
