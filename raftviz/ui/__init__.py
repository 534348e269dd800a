"""raftviz's terminal interface (Textual) on any `engine.observe.Backend`.

Entry points: `run_sim(seed, nodes, at_event, scenario)` and `run_backend(backend)`.
"""

from .app import RaftvizApp, build_sim, run_backend, run_sim

__all__ = ["RaftvizApp", "build_sim", "run_backend", "run_sim"]
