"""The three breakpoints (CONTRACT 2.1, 12): their names in display order, the viewport-width rule that
assigns one to an event, and the nominal device each stands for. Everything that names a breakpoint
reads it from here."""

from __future__ import annotations

from typing import Final, Literal, get_args

Breakpoint = Literal["desktop", "tablet", "mobile"]

NAMES: Final[tuple[Breakpoint, ...]] = get_args(Breakpoint)
"""Display order: the contract lists breakpoints widest first."""

NOMINAL_WIDTH_PX: Final[dict[str, int]] = {"desktop": 1440, "tablet": 820, "mobile": 390}
"""Viewport width of a typical device: the default capture width and the outline drawn without a backdrop."""

DEVICE_HEIGHT_PX: Final[dict[str, int]] = {"desktop": 900, "tablet": 1180, "mobile": 844}
"""Viewport height of the same typical devices (a laptop, an iPad Air, an iPhone 14)."""

TABLET_MIN_PX: Final = 768
DESKTOP_MIN_PX: Final = 1024


def breakpoint_for(viewport_width: int, *, tablet_min_px: int, desktop_min_px: int) -> Breakpoint:
    """The breakpoint of an event from its viewport width; the thresholds come from settings."""
    if viewport_width >= desktop_min_px:
        return "desktop"
    if viewport_width >= tablet_min_px:
        return "tablet"
    return "mobile"
