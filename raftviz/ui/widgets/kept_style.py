"""What widgets that draw their own lines share: their style and rich's segments.

KeptStyle: a widget's own rich style, worked out once per change of style. Such widgets
need the style to draw in for each line they draw, and `rich_style` walks every
ancestor: on a busy cluster that was 40 us a line.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text


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


def text_segments(text: Text, console: Console, base: Style) -> list[Segment]:
    """A line of text as rich draws it, over `base`. `Text.render` applies a text's own
    style only when the text also has spans (rich's console adds it otherwise): a text in
    one style throughout would lose it."""
    if text.style and not text.spans:
        return [Segment(text.plain, base + console.get_style(text.style))]
    return list(Segment.apply_style(text.render(console), base))
