"""KeptStyle: a widget's own rich style, worked out once per change of style.

Widgets that draw their own lines need the style to draw them in for each line they
draw, and `rich_style` walks every ancestor: on a busy cluster that was 40 us a line.
"""

from __future__ import annotations

from rich.style import Style


class KeptStyle:
    """Mix in before Widget; `base_style()` is `rich_style` until the styles change."""

    _base: Style | None = None

    def base_style(self) -> Style:
        if self._base is None:
            self._base = self.rich_style      # type: ignore[attr-defined]
        return self._base

    def notify_style_update(self) -> None:
        self._base = None
        super().notify_style_update()         # type: ignore[misc]
