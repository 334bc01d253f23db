"""The vocabulary layouts are written in: a page is a tuple of blocks, placed one after another by a flow.

Each block places its elements at the flow's row, in the flow's column, and moves the row below itself.
Inside a block, an element is a :class:`Put`: a role, a label and a box relative to the block's frame.
Values that differ by breakpoint are ``By(desktop, tablet, mobile)``; positions and sizes relative to the
frame are ``Of(fraction, px)``; heights that follow a width are ``Aspect(ratio)``. Selectors and labels
may hold ``{k}``, the number of the repetition (grid cell, row, repeated element, section insert), and
labels the flow's labels (``{title}``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Literal, NamedTuple, Protocol, TypeAlias, TypeVar

from data_layer import breakpoints
from demo_site.layout import Flow

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class By(Generic[T]):
    """A value per breakpoint."""

    desktop: T
    tablet: T
    mobile: T

    def at(self, flow: Flow) -> T:
        return flow.pick(self.desktop, self.tablet, self.mobile)


Px: TypeAlias = "float | By[float]"


def _resolve(flow: Flow, value: By[T] | T) -> T:
    return value.at(flow) if isinstance(value, By) else value


@dataclass(frozen=True, slots=True)
class Of:
    """``frac`` of the frame's width (for x and w) or height (for y and h) plus ``px``.

    As a size, at most ``most`` px.
    """

    frac: Px
    px: Px = 0
    most: float | None = None


@dataclass(frozen=True, slots=True)
class Aspect:
    """A height that follows a width: ``ratio`` times the width, at most ``most`` px."""

    ratio: Px
    most: float | None = None

    def height(self, flow: Flow, width: float) -> float:
        height = width * _resolve(flow, self.ratio)
        return height if self.most is None else min(height, self.most)


Span: TypeAlias = "Px | Of"


class Frame(NamedTuple):
    """The box a block places its elements in (px)."""

    x: float
    y: float
    w: float
    h: float


def _position(flow: Flow, origin: float, size: float, span: Span) -> float:
    if isinstance(span, Of):
        return origin + size * _resolve(flow, span.frac) + _resolve(flow, span.px)
    return origin + _resolve(flow, span)


def _size(flow: Flow, size: float, span: Span) -> float:
    if not isinstance(span, Of):
        return _resolve(flow, span)
    value = size * _resolve(flow, span.frac) + _resolve(flow, span.px)
    return value if span.most is None else min(value, span.most)


def _height(flow: Flow, height: Px | Aspect, width: float) -> float:
    return height.height(flow, width) if isinstance(height, Aspect) else _resolve(flow, height)


@dataclass(frozen=True, slots=True)
class Put:
    """One element, or ``repeat`` of them ``step`` (dx, dy) px apart, in a frame.

    ``x``/``y`` are offsets from the frame's corner, ``w``/``h`` sizes (the whole frame by default). A
    tuple ``label`` or ``weight`` has one value per repetition (labels cycle). The element exists only on
    the breakpoints in ``on`` and, when ``only`` is given, only in those repetitions of the enclosing
    block. ``weight`` defaults to the role's.
    """

    selector: str
    role: str
    label: str | tuple[str, ...] = ""
    x: Span = 0
    y: Span = 0
    w: Span = Of(1)
    h: Span = Of(1)
    weight: float | tuple[float, ...] | None = None
    broken: bool | By[bool] = False
    repeat: int = 1
    step: tuple[Px, Px] = (0, 0)
    on: tuple[str, ...] = breakpoints.NAMES
    only: tuple[int, ...] = ()

    def place(self, flow: Flow, frame: Frame, k: int = 1, base: str = "") -> None:
        """Adds the element(s); ``k`` numbers the enclosing repetition, ``base`` starts the selector."""
        if flow.breakpoint not in self.on or (self.only and k not in self.only):
            return
        x, y = _position(flow, frame.x, frame.w, self.x), _position(flow, frame.y, frame.h, self.y)
        w, h = _size(flow, frame.w, self.w), _size(flow, frame.h, self.h)
        dx, dy = (_resolve(flow, value) for value in self.step)
        broken = _resolve(flow, self.broken)
        for index in range(self.repeat):
            n = k if self.repeat == 1 else index + 1
            weight = self.weight[n - 1] if isinstance(self.weight, tuple) else self.weight
            label = (
                self.label[(n - 1) % len(self.label)]
                if isinstance(self.label, tuple)
                else self.label.format(k=n, **flow.labels)
            )
            selector = (base + self.selector).format(k=n)
            flow.add(
                selector, self.role, label, x + index * dx, y + index * dy, w, h, weight=weight, broken=broken
            )


class Block(Protocol):
    """Places its elements at the flow's row and moves the row below them; ``k`` numbers its repetition."""

    def place(self, flow: Flow, k: int = 1) -> None: ...


def place_all(flow: Flow, blocks: Iterable[Block], k: int = 1) -> None:
    for block in blocks:
        block.place(flow, k)


class Panel:
    """Elements in a frame spanning the column at the row, ``height`` px tall (or an :class:`Aspect` of the
    column's width); the row moves below it and ``after`` px further."""

    __slots__ = ("after", "height", "puts")

    def __init__(self, height: Px | Aspect, *puts: Put, after: Px = 0) -> None:
        self.height = height
        self.puts = puts
        self.after = after

    def place(self, flow: Flow, k: int = 1) -> None:
        height = _height(flow, self.height, flow.content_width)
        frame = Frame(flow.margin, flow.y, flow.content_width, height)
        for put in self.puts:
            put.place(flow, frame, k)
        flow.y += height + _resolve(flow, self.after)


class Card:
    """A card ``selector`` spanning the column, ``height`` px tall, its elements ``padding`` px in from its
    sides; the row moves below it and ``after`` px further."""

    __slots__ = ("after", "height", "padding", "puts", "selector")

    def __init__(self, selector: str, height: float, *puts: Put, padding: float, after: float = 0) -> None:
        self.selector = selector
        self.height = height
        self.puts = puts
        self.padding = padding
        self.after = after

    def place(self, flow: Flow, k: int = 1) -> None:
        flow.add(self.selector, "band", "card", flow.margin, flow.y, flow.content_width, self.height)
        inside = Frame(flow.margin + self.padding, flow.y, flow.content_width - 2 * self.padding, self.height)
        for put in self.puts:
            put.place(flow, inside, k)
        flow.y += self.height + self.after


@dataclass(frozen=True, slots=True)
class Gap:
    """Empty space down the column."""

    px: Px

    def place(self, flow: Flow, k: int = 1) -> None:
        flow.y += _resolve(flow, self.px)


class Rows:
    """``count`` rows down the column, ``step`` px apart, each the same elements; selectors continue ``base``
    (which holds ``{k}``, the row's number)."""

    __slots__ = ("base", "count", "puts", "step")

    def __init__(self, base: str, count: int, step: float, *puts: Put) -> None:
        self.base = base
        self.count = count
        self.step = step
        self.puts = puts

    def place(self, flow: Flow, k: int = 1) -> None:
        for n in range(1, self.count + 1):
            frame = Frame(flow.margin, flow.y, flow.content_width, self.step)
            for put in self.puts:
                put.place(flow, frame, n, self.base)
            flow.y += self.step


def grid_frames(
    flow: Flow,
    count: int,
    cols: int,
    height: Px | Aspect,
    gap: float,
    *,
    left: float | None = None,
    width: float | None = None,
) -> list[Frame]:
    """Frames of ``count`` cells in rows of ``cols`` across the column (or ``left`` .. ``left + width``),
    ``gap`` px apart; moves the row below the grid. An :class:`Aspect` height follows the cell width."""
    left = flow.margin if left is None else left
    total = flow.content_width if width is None else width
    cell_w = (total - gap * (cols - 1)) / cols
    cell_h = _height(flow, height, cell_w)
    frames = []
    for index in range(count):
        row, col = divmod(index, cols)
        frames.append(Frame(left + col * (cell_w + gap), flow.y + row * (cell_h + gap), cell_w, cell_h))
    rows = math.ceil(count / cols)
    flow.y += rows * cell_h + (rows - 1) * gap
    return frames


class Grid:
    """``count`` cells in rows of ``cols`` across the column, each the same elements; selectors continue
    ``base`` (which holds ``{k}``, the cell's number)."""

    __slots__ = ("base", "cols", "count", "gap", "height", "puts")

    def __init__(
        self, base: str, count: int, *puts: Put, cols: int | By[int], height: Px | Aspect, gap: Px = 24
    ) -> None:
        self.base = base
        self.count = count
        self.puts = puts
        self.cols = cols
        self.height = height
        self.gap = gap

    def place(self, flow: Flow, k: int = 1) -> None:
        frames = grid_frames(
            flow, self.count, _resolve(flow, self.cols), self.height, _resolve(flow, self.gap)
        )
        for n, frame in enumerate(frames, start=1):
            for put in self.puts:
                put.place(flow, frame, n, self.base)


class Fields:
    """A row of form controls sharing the column's width, 16 px apart and 48 px tall; 64 px per row."""

    __slots__ = ("puts",)

    def __init__(self, *puts: Put) -> None:
        self.puts = puts

    def place(self, flow: Flow, k: int = 1) -> None:
        frames = grid_frames(flow, len(self.puts), len(self.puts), 48, 16)
        for put, frame in zip(self.puts, frames, strict=True):
            put.place(flow, frame)
        flow.y += 16


def text_height(words: int, width: float) -> int:
    """Rendered height of a paragraph of ``words`` words in a column ``width`` px wide (28 px lines)."""
    chars_per_line = max(20, int(width / 8.2))
    return math.ceil(words * 6 / chars_per_line) * 28


def paragraphs(
    flow: Flow, base: str, count: int, start: int, words: tuple[int, int] = (50, 120), extra: int = 0
) -> int:
    """Adds copy ``{base}:nth-of-type(n)``, n = ``start`` ..., down the column 24 px apart, each as tall as
    a random number of ``words`` wraps to plus ``extra`` px; returns the next n."""
    for n in range(start, start + count):
        height = text_height(flow.rng.randint(*words), flow.content_width) + extra
        flow.add(f"{base}:nth-of-type({n})", "text", "", flow.margin, flow.y, flow.content_width, height)
        flow.y += height + 24
    return start + count


@dataclass(frozen=True, slots=True)
class Paragraphs:
    """``count`` blocks of copy down the column (see :func:`paragraphs`)."""

    base: str
    count: int
    words: tuple[int, int] = (50, 120)
    extra: int = 0

    def place(self, flow: Flow, k: int = 1) -> None:
        paragraphs(flow, self.base, self.count, 1, self.words, self.extra)


class Sections:
    """An article of 3 to 5 sections (by the length of the page's path, so pages of a kind differ).

    Each section is ``heading`` (numbered ``{k}``) and ``per_section`` paragraphs (a random count when a
    range), numbered across the article; ``insert`` follows every odd or every even section, its ``{k}``
    counting the inserts.
    """

    __slots__ = ("heading", "insert", "insert_after", "paragraphs", "per_section")

    def __init__(
        self,
        heading: Block,
        paragraphs: str,
        per_section: int | tuple[int, int],
        *insert: Block,
        insert_after: Literal["odd", "even"],
    ) -> None:
        self.heading = heading
        self.paragraphs = paragraphs
        self.per_section = per_section
        self.insert = insert
        self.insert_after = insert_after

    def place(self, flow: Flow, k: int = 1) -> None:
        paragraph, inserts = 1, 0
        parity = {"odd": 1, "even": 0}[self.insert_after]
        for section in range(1, 3 + len(flow.path) % 3 + 1):
            self.heading.place(flow, section)
            count = (
                flow.rng.randint(*self.per_section)
                if isinstance(self.per_section, tuple)
                else self.per_section
            )
            paragraph = paragraphs(flow, self.paragraphs, count, paragraph)
            if section % 2 == parity:
                inserts += 1
                place_all(flow, self.insert, inserts)


class Column:
    """Blocks in a narrower column, at most ``max_width`` px: centred on the page, or ``indent`` px into the
    content column. The row ends at least ``min_height`` px below where the column began."""

    __slots__ = ("blocks", "centre", "indent", "max_width", "min_height")

    def __init__(
        self, *blocks: Block, max_width: Px, centre: bool = False, indent: Px = 0, min_height: Px = 0
    ) -> None:
        self.blocks = blocks
        self.max_width = max_width
        self.centre = centre
        self.indent = indent
        self.min_height = min_height

    def place(self, flow: Flow, k: int = 1) -> None:
        indent = _resolve(flow, self.indent)
        width = min(flow.content_width - indent, _resolve(flow, self.max_width))
        x = (flow.width - width) / 2 if self.centre else flow.margin + indent
        top = flow.y
        with flow.column(x, width):
            place_all(flow, self.blocks)
        flow.y = max(flow.y, top + _resolve(flow, self.min_height))


class Split:
    """Two columns side by side, stacked on phones (``main`` above, ``stack_gap`` px between).

    ``main`` takes ``share`` of the content width, left (or right with ``main_right``); ``aside`` the rest
    after ``gap`` px, or ``aside_share`` of it. ``main_end`` closes the main column but is placed after
    the aside, so on phones it comes below both. The row moves ``after`` px below the longer column.
    """

    __slots__ = (
        "after",
        "aside",
        "aside_share",
        "gap",
        "main",
        "main_end",
        "main_right",
        "share",
        "stack_gap",
    )

    def __init__(
        self,
        main: tuple[Block, ...],
        aside: tuple[Block, ...],
        *,
        share: Px,
        gap: Px = 0,
        stack_gap: float,
        after: float,
        aside_share: float | None = None,
        main_right: bool = False,
        main_end: tuple[Block, ...] = (),
    ) -> None:
        self.main = main
        self.aside = aside
        self.share = share
        self.gap = gap
        self.stack_gap = stack_gap
        self.after = after
        self.aside_share = aside_share
        self.main_right = main_right
        self.main_end = main_end

    def place(self, flow: Flow, k: int = 1) -> None:
        m, cw, top = flow.margin, flow.content_width, flow.y
        stacked = flow.breakpoint == "mobile"
        if stacked:
            main_x, main_w, aside_x, aside_w = m, cw, m, cw
        else:
            gap = _resolve(flow, self.gap)
            main_w = cw * _resolve(flow, self.share)
            main_x = m + cw - main_w if self.main_right else m
            aside_w = cw - main_w - gap if self.aside_share is None else cw * self.aside_share
            aside_x = m if self.main_right else m + main_w + gap
        with flow.column(main_x, main_w):
            place_all(flow, self.main)
        main_bottom = flow.y
        flow.y = main_bottom + self.stack_gap if stacked else top
        with flow.column(aside_x, aside_w):
            place_all(flow, self.aside)
        aside_bottom = flow.y
        if self.main_end:
            flow.y = aside_bottom if stacked else main_bottom
            with flow.column(main_x, main_w):
                place_all(flow, self.main_end)
            main_bottom = flow.y
        flow.y = max(main_bottom, aside_bottom) + self.after
