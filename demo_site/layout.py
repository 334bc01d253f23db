"""The layout model: a page or app screen as elements with a rectangle, a CSS selector and a role.

Horizontal positions are fractions of the document width (document width = viewport width, so the same
element is in the same 1 % heatmap column on every viewport of a breakpoint); vertical positions are
document px, identical for every viewport of a breakpoint. Fixed elements (the sticky header) are placed
in viewport coordinates. A :class:`Flow` builds a layout in px at the screenshot width.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from data_layer.breakpoints import NOMINAL_WIDTH_PX

T = TypeVar("T")

_MARGINS = {"desktop": 120, "tablet": 32, "mobile": 16}

# role -> (click pool, default click weight). "live" elements react to clicks, "dead" ones are
# non-interactive but look clickable (dead-click magnets), "text" is plain copy; bands are backgrounds.
ROLES: dict[str, tuple[str | None, float]] = {
    "band": (None, 0.0),
    "logo": ("live", 1.0),
    "nav": ("live", 1.2),
    "button": ("live", 6.0),
    "button2": ("live", 3.0),
    "link": ("live", 1.5),
    "flink": ("live", 0.6),
    "input": ("live", 2.5),
    "select": ("live", 2.0),
    "chip": ("live", 1.5),
    "row": ("live", 1.5),
    "thumb": ("live", 2.0),
    "image": ("dead", 3.0),
    "heading": ("dead", 1.5),
    "card": ("dead", 2.0),
    "label": ("text", 0.5),
    "flabel": ("text", 0.3),
    "text": ("text", 1.0),
}


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a page layout.

    ``left``/``right`` are fractions of the document width; ``top``/``bottom`` document px (viewport
    px when ``fixed``). ``label`` is the visible text (band style name for bands). ``broken`` elements
    do nothing when clicked (the demo's rage-click targets).
    """

    selector: str
    role: str
    label: str
    left: float
    right: float
    top: int
    bottom: int
    weight: float
    fixed: bool = False
    broken: bool = False

    @property
    def interactive(self) -> bool:
        return ROLES[self.role][0] == "live"


@dataclass(frozen=True, slots=True)
class PageLayout:
    """A page at one breakpoint: ``width`` is the screenshot width, ``height`` the document height (px)."""

    page_key: str
    path: str
    title: str
    breakpoint: str
    width: int
    height: int
    elements: tuple[Element, ...]


class Flow:
    """Collects a layout's elements top to bottom, in px of the breakpoint's nominal width (the screenshot's).

    ``y`` is the next free document row; ``margin`` and ``content_width`` are the column being filled:
    the page's content column, or a narrower one inside :meth:`column`. ``path`` (a screen's name for app
    screens) seeds ``rng``, the same on every breakpoint, so copy is as long on a phone as on a desktop.
    ``labels`` are what ``{name}`` placeholders in labels stand for (the page's title, ...).
    """

    def __init__(self, breakpoint: str, path: str, labels: Mapping[str, str] | None = None) -> None:
        self.breakpoint = breakpoint
        self.path = path
        self.labels = labels or {}
        self.width = NOMINAL_WIDTH_PX[breakpoint]
        self.margin: float = _MARGINS[breakpoint]
        self.content_width: float = self.width - 2 * self.margin
        self.rng = random.Random(path)
        self.y: float = 0
        self.items: list[Element] = []

    def pick(self, desktop: T, tablet: T, mobile: T) -> T:
        return {"desktop": desktop, "tablet": tablet, "mobile": mobile}[self.breakpoint]

    def add(
        self,
        selector: str,
        role: str,
        label: str,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        weight: float | None = None,
        fixed: bool = False,
        broken: bool = False,
    ) -> None:
        """Adds an element; ``weight`` defaults to the role's."""
        left = max(0.0, x / self.width)
        right = min(1.0, (x + w) / self.width)
        self.items.append(
            Element(
                selector,
                role,
                label,
                round(left, 5),
                round(right, 5),
                round(y),
                round(y + h),
                ROLES[role][1] if weight is None else weight,
                fixed,
                broken,
            )
        )

    @contextmanager
    def column(self, x: float, width: float) -> Iterator[None]:
        """Fills the column ``x``..``x + width`` inside the block; the row is not reset afterwards."""
        outer = self.margin, self.content_width
        self.margin, self.content_width = x, width
        try:
            yield
        finally:
            self.margin, self.content_width = outer
