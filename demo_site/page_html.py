"""A demo page as the simple static HTML a recorder would have seen, serialized the way rrweb serializes
a document for a full snapshot.

Every element of the page's layout (:mod:`demo_site.layout`) is an absolutely positioned child of
``<body>``, in the renderer's drawing order, so a replay looks like the backdrop screenshot
(:mod:`demo_site.renderer`): left and width in % of the document width (the layout's fractions, so the
page fits any viewport of its breakpoint as the clicks do), top and height in document px, fixed elements
(the sticky header) in viewport px above the rest. Colours and shapes come from the element's role, in one
``<style>``; nothing names a URL. Text is masked as the recorder masks it (every non-space character is
``*``), since a recording never holds a page's text; copy is drawn as the screenshot's grey bars.

The nodes follow rrweb-snapshot 2.x (``serializeNodeWithId``): ``type`` 0 Document, 1 DocumentType,
2 Element (``tagName``, ``attributes``, ``childNodes``), 3 Text (``textContent``); every node has an
``id`` unique in the document, the document's is 1, so no node carries ``rootId`` (rrweb writes it only
for documents inside iframes); a ``<style>``'s CSS is its ``_cssText`` attribute over an empty text
node, as the recorder writes it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from demo_site.layout import Element, PageLayout
from demo_site.pages import page_layout

DOCUMENT_ID = 1
"""The serialized document's node id: the target of the page's scroll events."""

DOCUMENT, DOCUMENT_TYPE, ELEMENT, TEXT = 0, 1, 2, 3
"""rrweb-snapshot's ``NodeType`` values of the nodes written here."""

_GLYPH_EM = 0.5  # the width of a masked character ("*" in a sans-serif face is 0.4-0.5 em)
_FONT = 'system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif'
_PHOTO = (
    "linear-gradient(to top right,#0000 calc(50% - 1px),#e2e8f0 calc(50% - 1px) calc(50% + 1px),"
    "#0000 calc(50% + 1px)),linear-gradient(to bottom right,#0000 calc(50% - 1px),#e2e8f0 calc(50% - 1px)"
    " calc(50% + 1px),#0000 calc(50% + 1px)),#d1d5db"
)
# The renderer's colours and shapes, role by role (see demo_site.renderer._draw_element).
CSS = "".join(
    (
        f"html{{background:#f8fafc}}body{{margin:0;position:relative;overflow-x:hidden;font-family:{_FONT}}}",
        ".e{position:absolute;box-sizing:border-box;margin:0;padding:0;border:0;background:none;",
        "font:inherit;line-height:1.2;color:#475569;display:flex;align-items:center;overflow:hidden;",
        "text-decoration:none;overflow-wrap:anywhere}",
        ".f{position:fixed;z-index:10}",
        ".c{justify-content:center;text-align:center}",
        ".b-header{background:#fff;border-bottom:1px solid #e2e8f0}.b-hero{background:#eef2ff}",
        ".b-promo{background:#e0e7ff}.b-footer{background:#1e293b}",
        ".b-card{background:#fff;border:1px solid #e2e8f0;border-radius:12px}",
        ".r-button,.r-button2{border:2px solid #4f46e5;border-radius:8px;padding:0 8px;font-weight:600}",
        ".r-button{background:#4f46e5;color:#fff}.r-button2{background:#fff;color:#4f46e5}",
        ".r-input,.r-select{background:#fff;border:1px solid #cbd5e1;border-radius:6px;padding:0 12px;",
        "color:#94a3b8}.r-input::placeholder{color:#94a3b8}",
        ".r-chip,.r-card{background:#f1f5f9;border:1px solid #cbd5e1;border-radius:20px;padding:0 6px}",
        ".r-card{color:#94a3b8}",
        ".r-row{background:#fff;border-bottom:1px solid #e2e8f0;color:#0f172a;padding:0 48px 0 16px}",
        '.r-row::after{content:"+";position:absolute;right:16px;font-size:20px;color:#475569}',
        f".r-image,.r-thumb{{background:{_PHOTO};color:#0f172a;align-items:flex-end;padding:0 16px 12px}}",
        ".r-text{background:repeating-linear-gradient(#0000 0 9px,#dde3eb 9px 19px,#0000 19px 28px)}",
        ".r-logo{color:#4f46e5;font-weight:700}.r-link{color:#4f46e5}.r-flink{color:#cbd5e1}",
        ".r-flabel{color:#94a3b8}.r-heading{color:#0f172a;font-weight:700}",
    )
)
# role -> (tag when the selector names none, largest font px, horizontal padding px, centred)
_ROLES: dict[str, tuple[str, int, int, bool]] = {
    "band": ("div", 0, 0, False),
    "logo": ("a", 18, 0, False),
    "nav": ("a", 18, 0, False),
    "button": ("button", 18, 10, True),
    "button2": ("a", 18, 10, True),
    "link": ("a", 18, 0, False),
    "flink": ("a", 18, 0, False),
    "input": ("input", 16, 13, False),
    "select": ("select", 16, 13, False),
    "chip": ("button", 16, 7, True),
    "row": ("div", 17, 64, False),
    "thumb": ("div", 20, 32, False),
    "image": ("div", 20, 32, False),
    "heading": ("h2", 48, 0, False),
    "card": ("div", 16, 7, True),
    "label": ("span", 18, 0, False),
    "flabel": ("span", 18, 0, False),
    "text": ("p", 0, 0, False),
}
# Tags a selector may give its element as they are; any other (img, tr, summary, ...) becomes a div, so
# the flat page of positioned boxes renders the same in every browser.
_KEPT_TAGS = frozenset(
    {
        *("a", "button", "h1", "h2", "h3", "h4", "p", "span", "div", "section", "aside", "label"),
        *("figcaption", "time", "select", "input", "textarea", "ul", "dl"),
    }
)
_COMPOUND = re.compile(r"^([a-z][a-z0-9]*)?((?:[#.][\w-]+)*)")
_NOT_SPACE = re.compile(r"\S")


def mask(text: str) -> str:
    """``text`` as the recorder masks it: every non-space character replaced by ``*``."""
    return _NOT_SPACE.sub("*", text)


@dataclass(frozen=True)
class PageHtml:
    """A demo page at a breakpoint as rrweb's serialized document.

    ``node`` is the Document node (shared by every snapshot of the page: never mutate it);
    ``element_ids[i]`` is the node id of ``layout.elements[i]``; ``body_id`` the ``<body>``'s.
    """

    layout: PageLayout
    node: dict[str, Any]
    element_ids: tuple[int, ...]
    body_id: int

    def node_count(self) -> int:
        """How many nodes the document has (ids run from 1 to this)."""
        return max(_ids(self.node))


@cache
def page_html(page_key: str, breakpoint: str) -> PageHtml | None:
    """The demo page ``page_key`` (any URL of it) at ``breakpoint``; None for a page the demo has not."""
    layout = page_layout(page_key, breakpoint)
    return None if layout is None else _serialize(layout)


def _serialize(layout: PageLayout) -> PageHtml:
    ids = iter(range(DOCUMENT_ID, 1_000_000))
    document_id, doctype_id, html_id, head_id, style_id, css_id, title_id, title_text_id, body_id = (
        next(ids) for _ in range(9)
    )
    head = _element(
        head_id,
        "head",
        {},
        [
            _element(style_id, "style", {"_cssText": CSS}, [_text(css_id, "")]),
            _element(title_id, "title", {}, [_text(title_text_id, mask(layout.title))]),
        ],
    )
    elements = [_element_node(element, layout.width, ids) for element in layout.elements]
    body = _element(body_id, "body", {"style": f"height:{layout.height}px"}, elements)
    html = _element(html_id, "html", {"lang": "en"}, [head, body])
    doctype = {"type": DOCUMENT_TYPE, "name": "html", "publicId": "", "systemId": "", "id": doctype_id}
    node = {"type": DOCUMENT, "childNodes": [doctype, html], "id": document_id}
    return PageHtml(layout, node, tuple(element["id"] for element in elements), body_id)


def _element(node_id: int, tag: str, attributes: dict[str, Any], children: list[Any]) -> dict[str, Any]:
    return {"type": ELEMENT, "tagName": tag, "attributes": attributes, "childNodes": children, "id": node_id}


def _text(node_id: int, text: str) -> dict[str, Any]:
    return {"type": TEXT, "textContent": text, "id": node_id}


def _ids(node: dict[str, Any]) -> list[int]:
    return [node["id"], *(i for child in node.get("childNodes", ()) for i in _ids(child))]


def _element_node(element: Element, width: int, ids: Any) -> dict[str, Any]:
    """One layout element as a positioned element: its tag, id and classes from its selector's last part,
    its role's class, its box as inline style, its label masked."""
    default_tag, max_font, padding, centred = _ROLES[element.role]
    match = _COMPOUND.match(re.split(r"\s*>\s*|\s+", element.selector)[-1])
    named_tag, marks = (match.group(1), match.group(2)) if match else (None, "")
    tag = named_tag if named_tag in _KEPT_TAGS else default_tag if named_tag is None else "div"
    html_id = next((mark[1:] for mark in re.findall(r"[#.][\w-]+", marks) if mark[0] == "#"), None)
    classes = [mark[1:] for mark in re.findall(r"[#.][\w-]+", marks) if mark[0] == "."]
    role_class = f"b-{element.label}" if element.role == "band" else f"r-{element.role}"
    classes = ["e", *(["f"] if element.fixed else []), role_class, *(["c"] if centred else []), *classes]
    box_w, box_h = (element.right - element.left) * width, element.bottom - element.top
    style = (
        f"left:{_number(element.left * 100)}%;width:{_number((element.right - element.left) * 100)}%;"
        f"top:{element.top}px;height:{box_h}px"
    )
    label = "" if element.role in ("band", "text") else element.label
    if label and max_font:
        text_h = min(box_h, 36) if element.role in ("image", "thumb") else box_h
        style += f";font-size:{_font_px(label, box_w - padding, text_h, max_font)}px"
    attributes: dict[str, Any] = {"class": " ".join(classes)}
    if html_id:
        attributes["id"] = html_id
    attributes["style"] = style
    node_id = next(ids)
    children: list[Any] = []
    if tag in ("input", "textarea"):
        attributes |= {"type": "text"} if tag == "input" else {}
        attributes["placeholder"] = mask(label)
    elif tag == "select":
        children = [_element(next(ids), "option", {"selected": True}, [_text(next(ids), mask(label))])]
    elif label:
        children = [_text(next(ids), mask(label))]
    return _element(node_id, tag, attributes, children)


def _number(value: float) -> str:
    """A percentage with at most 3 decimals, without trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _font_px(label: str, width: float, height: float, max_size: int) -> int:
    """The largest font size up to ``max_size`` at which ``label`` wraps inside the box, as the renderer
    picks it (masked glyphs taken as half an em wide)."""
    size = max(8, min(max_size, int(height * 0.8)))
    while size > 8:
        per_line = max(1, math.floor(width / (size * _GLYPH_EM)))
        words = label.split()
        lines, used = 1, 0
        for word in words:
            needed = len(word) if used == 0 else used + 1 + len(word)
            if needed <= per_line:
                used = needed
            else:
                lines, used = lines + 1, len(word)
        fits = all(len(word) <= per_line for word in words)
        if fits and lines * size * 1.2 <= height + size * 0.3:
            break
        size -= 2
    return max(8, size)
