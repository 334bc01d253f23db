"""Screenshots of the demo pages and app screens, drawn with Pillow from the layouts the click and tap
generators use, so a 1:1 overlay puts hotspots on the drawn elements."""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from data_layer import breakpoints
from demo_site.app_screens import SCREEN_NAMES, SCREEN_SIZE, screen_layout
from demo_site.layout import Element
from demo_site.pages import layout, page_layout

SCREENSHOT_PAGES = 8  # the most visited pages get screenshots, at every breakpoint

_BG = (248, 250, 252)
_WHITE = (255, 255, 255)
_BORDER = (226, 232, 240)
_INDIGO = (79, 70, 229)
_INK = (15, 23, 42)
_MUTED = (71, 85, 105)
_FAINT = (148, 163, 184)
_LINE = (203, 213, 225)
_COPY = (221, 227, 235)
_PHOTO = (209, 213, 219)
_PHOTO_ICON = (156, 163, 175)
_BANDS = {
    "header": (_WHITE, _BORDER),
    "hero": ((238, 242, 255), None),
    "promo": ((224, 231, 255), None),
    "footer": ((30, 41, 59), None),
    "card": (_WHITE, _BORDER),
}
_PALETTE_COLOURS = 48


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _draw_text(
    draw: ImageDraw.ImageDraw,
    box: tuple[float, float, float, float],
    text: str,
    colour: tuple[int, int, int],
    *,
    max_size: int,
    centre: bool = False,
) -> None:
    """Largest font up to ``max_size`` at which ``text`` wraps inside ``box``; vertically centred."""
    x0, y0, x1, y1 = box
    size = max(8, min(max_size, int((y1 - y0) * 0.8)))
    while True:
        font = _font(size)
        lines = _wrap(text, font, x1 - x0)
        fits = len(lines) * size * 1.2 <= (y1 - y0) + size * 0.3
        if size <= 8 or (fits and all(font.getlength(line) <= x1 - x0 for line in lines)):
            break
        size -= 2
    y = (y0 + y1) / 2 - len(lines) * size * 1.2 / 2
    for line in lines:
        x = (x0 + x1 - font.getlength(line)) / 2 if centre else x0
        draw.text((x, y), line, fill=colour, font=font)
        y += size * 1.2


def _draw_photo(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=_PHOTO)
    draw.line((x0, y0, x1, y1), fill=_BORDER, width=2)
    draw.line((x0, y1, x1, y0), fill=_BORDER, width=2)
    w, h = x1 - x0, y1 - y0
    r = max(3, min(w, h) / 10)
    draw.ellipse((x0 + w * 0.3 - r, y0 + h * 0.35 - r, x0 + w * 0.3 + r, y0 + h * 0.35 + r), fill=_PHOTO_ICON)
    draw.polygon(
        [
            (x0 + w * 0.2, y0 + h * 0.75),
            (x0 + w * 0.45, y0 + h * 0.45),
            (x0 + w * 0.6, y0 + h * 0.6),
            (x0 + w * 0.7, y0 + h * 0.5),
            (x0 + w * 0.85, y0 + h * 0.75),
        ],
        fill=_PHOTO_ICON,
    )


def _draw_copy(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float]) -> None:
    """Placeholder copy: grey bars on a 28 px line grid, the last line shorter."""
    x0, y0, x1, y1 = box
    lines = max(1, int((y1 - y0) // 28))
    for line in range(lines):
        end = x1 if line < lines - 1 or lines == 1 else x0 + (x1 - x0) * 0.6
        top = y0 + line * 28 + 9
        draw.rounded_rectangle((x0, top, end, top + 10), radius=5, fill=_COPY)


def _draw_element(draw: ImageDraw.ImageDraw, element: Element, width: int) -> None:
    box = (element.left * width, element.top, element.right * width - 1, element.bottom - 1)
    role, label = element.role, element.label
    if role == "band":
        fill, outline = _BANDS[label]
        if label == "card":
            draw.rounded_rectangle(box, radius=12, fill=fill, outline=outline, width=1)
        else:
            draw.rectangle(box, fill=fill)
            if outline:
                draw.line((box[0], box[3], box[2], box[3]), fill=outline, width=1)
    elif role in ("button", "button2"):
        primary = role == "button"
        draw.rounded_rectangle(box, radius=8, fill=_INDIGO if primary else _WHITE, outline=_INDIGO, width=2)
        _draw_text(draw, _inset(box, 8), label, _WHITE if primary else _INDIGO, max_size=18, centre=True)
    elif role in ("input", "select"):
        draw.rounded_rectangle(box, radius=6, fill=_WHITE, outline=_LINE, width=1)
        _draw_text(draw, _inset(box, 12), label + ("  v" if role == "select" else ""), _FAINT, max_size=16)
    elif role in ("chip", "card"):
        draw.rounded_rectangle(
            box, radius=min(20, (box[3] - box[1]) / 2), fill=(241, 245, 249), outline=_LINE, width=1
        )
        _draw_text(
            draw, _inset(box, 6), label, _MUTED if role == "chip" else _FAINT, max_size=16, centre=True
        )
    elif role == "row":
        draw.rectangle(box, fill=_WHITE)
        draw.line((box[0], box[3], box[2], box[3]), fill=_BORDER, width=1)
        _draw_text(draw, (box[0] + 16, box[1], box[2] - 48, box[3]), label, _INK, max_size=17)
        _draw_text(draw, (box[2] - 36, box[1], box[2] - 8, box[3]), "+", _MUTED, max_size=20, centre=True)
    elif role in ("image", "thumb"):
        _draw_photo(draw, box)
        if label:
            _draw_text(draw, (box[0] + 16, box[3] - 48, box[2] - 16, box[3] - 12), label, _INK, max_size=20)
    elif role == "text":
        _draw_copy(draw, box)
    else:
        colour = {"logo": _INDIGO, "link": _INDIGO, "flink": _LINE, "flabel": _FAINT, "heading": _INK}.get(
            role, _MUTED
        )
        _draw_text(draw, box, label, colour, max_size=48 if role == "heading" else 18)


def _inset(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    return box[0] + by, box[1], box[2] - by, box[3]


def _render(width: int, height: int, elements: tuple[Element, ...]) -> bytes:
    image = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(image)
    for element in elements:
        _draw_element(draw, element, width)
    buffer = io.BytesIO()
    palette = image.quantize(
        colors=_PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    palette.save(buffer, format="PNG")
    return buffer.getvalue()


def render_page_screenshot(page_key: str, breakpoint: str) -> bytes | None:
    """PNG of a demo page at a breakpoint: the breakpoint's nominal width, full document height.

    The drawing uses the layout the click generator uses, so a 1:1 overlay (x as a fraction of the width,
    y in document px) puts hotspots on the drawn elements. None for an unknown page or breakpoint.
    """
    page = page_layout(page_key, breakpoint)
    if page is None:
        return None
    return _render(page.width, page.height, page.elements)


def render_screen_screenshot(screen_name: str) -> bytes:
    """PNG (390 x 844) of a demo app screen, drawn from the layout the touch generator uses."""
    if screen_name not in SCREEN_NAMES:
        raise ValueError(f"unknown demo screen {screen_name!r}; known: {', '.join(SCREEN_NAMES)}")
    return _render(*SCREEN_SIZE, screen_layout(screen_name))


def demo_page_screenshots() -> Iterator[tuple[str, str, bytes]]:
    """(pageKey, breakpoint, PNG) for the most visited demo pages at every breakpoint."""
    for index in range(SCREENSHOT_PAGES):
        for breakpoint in breakpoints.NAMES:
            page = layout(index, breakpoint)
            yield page.page_key, breakpoint, _render(page.width, page.height, page.elements)


def demo_screen_screenshots() -> Iterator[tuple[str, bytes]]:
    """(screen name, PNG) for every demo app screen."""
    for screen_name in SCREEN_NAMES:
        yield screen_name, render_screen_screenshot(screen_name)
