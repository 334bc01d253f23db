"""The random draws web visitors and app users share: a weighted option, a weighted element within reach,
a point on an element."""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from demo_site.layout import Element


def weighted(rng: random.Random, options: tuple[tuple[Any, ...], ...], weight_at: int = 1) -> tuple[Any, ...]:
    """One of ``options``, chosen with the weights at index ``weight_at`` of each."""
    return rng.choices(options, weights=[option[weight_at] for option in options])[0]


@dataclass(frozen=True, slots=True)
class Pool:
    """Click candidates of one kind, sorted by top, with cumulative weights for O(log n) picks."""

    elements: tuple[Element, ...]
    tops: tuple[int, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, elements: list[Element]) -> Pool:
        ordered = sorted(elements, key=lambda element: (element.top, element.selector))
        return cls(
            tuple(ordered), tuple(e.top for e in ordered), tuple(accumulate(e.weight for e in ordered))
        )

    def pick(self, rng: random.Random, reach: float) -> Element | None:
        """A weighted choice among the elements whose top is above ``reach`` (document px)."""
        count = bisect_left(self.tops, reach)
        if count == 0 or self.cum[count - 1] <= 0:
            return None
        return self.elements[bisect_right(self.cum, rng.random() * self.cum[count - 1], 0, count)]


def point(rng: random.Random, element: Element, width: int) -> tuple[int, int]:
    """A click position: gaussian around the element's centre, clipped to the element."""
    left, right = element.left * width, element.right * width
    x = rng.gauss((left + right) / 2, max(1.0, (right - left) / 6))
    y = rng.gauss((element.top + element.bottom) / 2, max(1.0, (element.bottom - element.top) / 6))
    x = min(math.floor(right), max(math.ceil(left), round(x)))
    y = min(element.bottom, max(element.top, round(y)))
    return x, y
