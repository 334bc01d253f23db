"""Demo data: a web shop with realistic traffic and its mobile app, generated without a database.

The site (``DEMO_ORIGIN``) has 40 pages with Zipf-like traffic. Every page has one layout per breakpoint
(:func:`page_layout`): elements with a rectangle, a CSS selector and a role. The click generator and the
screenshot renderer read the same layouts, so hotspots land on the drawn buttons. Horizontal positions
are fractions of the document width (document width = viewport width, so the same element is in the same
1 % heatmap column on every viewport of a breakpoint); vertical positions are document px, identical for
every viewport of a breakpoint. Fixed elements (the sticky header) are placed in viewport coordinates.

Events are plain dicts in the JSON shapes of CONTRACT 3.1 (web) and 5 (touch, plus ``userId``), ready for
the ingestion path. Everything is deterministic for the same arguments; event ids are derived from the
seed and the event's position, so loading the same demo twice stores nothing new.
"""

from __future__ import annotations

import io
import math
import random
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from operator import itemgetter
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from data_layer.urls import InvalidUrlError, normalize_page_key

DEMO_ORIGIN = "https://shop.example.com"
BREAKPOINTS = ("desktop", "tablet", "mobile")
SCREENSHOT_WIDTHS = {"desktop": 1440, "tablet": 820, "mobile": 390}
SCREEN_SIZE = (390, 844)
SCREEN_NAMES = ("home_feed", "product_detail", "cart", "checkout", "settings")
SCREENSHOT_PAGES = 8

# ---------------------------------------------------------------------------------------------------
# Layout model
# ---------------------------------------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class _PageSpec:
    path: str
    kind: str
    title: str


_PRODUCTS = (
    ("alpine-shell-jacket", "Alpine Shell Jacket", "$249"),
    ("ridge-runner-trail-shoes", "Ridge Runner Trail Shoes", "$139"),
    ("summit-35l-backpack", "Summit 35L Backpack", "$189"),
    ("featherlight-down-vest", "Featherlight Down Vest", "$159"),
    ("basecamp-2-person-tent", "Basecamp 2-Person Tent", "$329"),
    ("merino-crew-socks", "Merino Crew Socks", "$24"),
    ("trekking-poles-carbon", "Carbon Trekking Poles", "$119"),
    ("insulated-water-bottle", "Insulated Bottle 750 ml", "$34"),
    ("headlamp-400", "Headlamp 400", "$49"),
    ("rain-pants", "Storm Rain Pants", "$99"),
    ("camp-stove-mini", "Mini Camp Stove", "$59"),
    ("sun-hoodie", "Sun Hoodie UPF 50", "$69"),
    ("kids-rain-jacket", "Kids' Rain Jacket", "$79"),
    ("gift-card", "Trailmark Gift Card", "$25+"),
)

# In traffic order: the first page gets the most visits (Zipf weights by rank).
_PAGES = (
    _PageSpec("/", "home", "Gear for every trail"),
    _PageSpec("/products", "listing", "All gear"),
    _PageSpec("/pricing", "pricing", "Trailmark Plus membership"),
    _PageSpec("/category/jackets", "category", "Jackets"),
    _PageSpec("/products/alpine-shell-jacket", "product", "Alpine Shell Jacket"),
    _PageSpec("/cart", "cart", "Your cart"),
    _PageSpec("/category/footwear", "category", "Footwear"),
    _PageSpec("/products/ridge-runner-trail-shoes", "product", "Ridge Runner Trail Shoes"),
    _PageSpec("/checkout", "checkout", "Checkout"),
    _PageSpec("/signup", "signup", "Join Trailmark"),
    _PageSpec("/blog", "blog_index", "The Trailmark Journal"),
    _PageSpec("/products/summit-35l-backpack", "product", "Summit 35L Backpack"),
    _PageSpec("/category/backpacks", "category", "Backpacks"),
    _PageSpec("/products/featherlight-down-vest", "product", "Featherlight Down Vest"),
    _PageSpec("/login", "login", "Sign in"),
    _PageSpec("/category/camping", "category", "Camping"),
    _PageSpec("/products/basecamp-2-person-tent", "product", "Basecamp 2-Person Tent"),
    _PageSpec("/blog/how-to-layer-for-winter-hikes", "blog_post", "How to layer for winter hikes"),
    _PageSpec("/products/merino-crew-socks", "product", "Merino Crew Socks"),
    _PageSpec("/category/sale", "category", "Sale"),
    _PageSpec("/products/trekking-poles-carbon", "product", "Carbon Trekking Poles"),
    _PageSpec("/docs", "docs", "Help center"),
    _PageSpec("/products/insulated-water-bottle", "product", "Insulated Bottle 750 ml"),
    _PageSpec("/blog/choosing-your-first-tent", "blog_post", "Choosing your first tent"),
    _PageSpec("/faq", "faq", "Frequently asked questions"),
    _PageSpec("/products/headlamp-400", "product", "Headlamp 400"),
    _PageSpec("/about", "about", "About Trailmark"),
    _PageSpec("/blog/trail-running-gear-checklist", "blog_post", "Trail running gear checklist"),
    _PageSpec("/products/rain-pants", "product", "Storm Rain Pants"),
    _PageSpec("/docs/shipping-and-returns", "docs", "Shipping and returns"),
    _PageSpec("/products/camp-stove-mini", "product", "Mini Camp Stove"),
    _PageSpec("/contact", "contact", "Contact us"),
    _PageSpec("/blog/caring-for-down-jackets", "blog_post", "Caring for down jackets"),
    _PageSpec("/products/sun-hoodie", "product", "Sun Hoodie UPF 50"),
    _PageSpec("/docs/size-guide", "docs", "Size guide"),
    _PageSpec("/blog/ultralight-packing-list", "blog_post", "The ultralight packing list"),
    _PageSpec("/products/kids-rain-jacket", "product", "Kids' Rain Jacket"),
    _PageSpec("/blog/behind-the-seams", "blog_post", "Behind the seams: how we test"),
    _PageSpec("/docs/warranty", "docs", "Lifetime warranty"),
    _PageSpec("/products/gift-card", "product", "Trailmark Gift Card"),
)
_ZIPF_EXPONENT = 1.05


def demo_page_keys() -> list[str]:
    """Normalised pageKeys of the demo site, most visited first."""
    return [_page_key(spec.path) for spec in _PAGES]


def _page_key(path: str) -> str:
    return DEMO_ORIGIN + path


# ---------------------------------------------------------------------------------------------------
# Layout builders (px at the screenshot width; stored as width fractions)
# ---------------------------------------------------------------------------------------------------

_MARGINS = {"desktop": 120, "tablet": 32, "mobile": 16}
_HEADER_HEIGHTS = {"desktop": 72, "tablet": 64, "mobile": 56}


class _Flow:
    """Collects elements top to bottom; ``y`` is the next free document row."""

    def __init__(self, breakpoint: str, seed: str) -> None:
        self.breakpoint = breakpoint
        self.width = SCREENSHOT_WIDTHS[breakpoint]
        self.margin = _MARGINS[breakpoint]
        self.content_width = self.width - 2 * self.margin
        self.rng = random.Random(seed)  # same seed on every breakpoint: same copy lengths
        self.y = 0
        self.items: list[Element] = []

    def pick(self, desktop: Any, tablet: Any, mobile: Any) -> Any:
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


Fill = Callable[[int, float, float, float, float], None]


def _grid(
    flow: _Flow,
    count: int,
    cols: int,
    cell_h: int,
    fill: Fill,
    *,
    gap: int = 24,
    x0: float | None = None,
    width: float | None = None,
) -> None:
    """Lay ``count`` cells out in rows of ``cols``; ``fill(k, x, y, w, h)`` gets 1-based k."""
    left = flow.margin if x0 is None else x0
    total = flow.content_width if width is None else width
    cell_w = (total - gap * (cols - 1)) / cols
    for index in range(count):
        row, col = divmod(index, cols)
        fill(index + 1, left + col * (cell_w + gap), flow.y + row * (cell_h + gap), cell_w, cell_h)
    rows = math.ceil(count / cols)
    flow.y += rows * cell_h + (rows - 1) * gap


def _text_height(words: int, width: float) -> int:
    """Rendered height of a paragraph of ``words`` words in a column ``width`` px wide (28 px lines)."""
    chars_per_line = max(20, int(width / 8.2))
    return math.ceil(words * 6 / chars_per_line) * 28


def _header(flow: _Flow, *, minimal: bool = False) -> None:
    h, m, w = _HEADER_HEIGHTS[flow.breakpoint], flow.margin, flow.width
    mid = h / 2
    flow.add("#site-header", "band", "header", 0, 0, w, h, fixed=True)
    if flow.breakpoint == "mobile" and not minimal:
        flow.add(
            "#site-header > button.menu-toggle", "chip", "=", m, mid - 20, 40, 40, weight=2.0, fixed=True
        )
        flow.add("#site-header > a.logo", "logo", "Trailmark", m + 56, mid - 14, 120, 28, fixed=True)
        flow.add("#site-header > button.search-toggle", "chip", "?", w - 100, mid - 20, 40, 40, fixed=True)
    else:
        flow.add("#site-header > a.logo", "logo", "Trailmark", m, mid - 14, 140, 28, fixed=True)
    if minimal:
        flow.add(
            "#site-header > a.back-to-cart",
            "link",
            "Back to cart",
            w - m - 120,
            mid - 12,
            120,
            24,
            fixed=True,
        )
        flow.y = h
        return
    labels = flow.pick(("Shop", "Pricing", "Journal", "Help", "About"), ("Shop", "Pricing", "Journal"), ())
    for k, label in enumerate(labels, start=1):
        flow.add(
            f"nav.top-nav > a:nth-of-type({k})",
            "nav",
            label,
            m + 220 + (k - 1) * 96,
            mid - 12,
            80,
            24,
            fixed=True,
        )
    if flow.breakpoint == "desktop":
        flow.add("#site-search", "input", "Search gear", w - m - 450, mid - 20, 280, 40, fixed=True)
    if flow.breakpoint != "mobile":
        flow.add(
            "#site-header > a.btn-signin", "button2", "Sign in", w - m - 150, mid - 20, 90, 40, fixed=True
        )
    flow.add(
        "#site-header > a.cart-link", "chip", "Cart", w - m - 48, mid - 20, 48, 40, weight=2.0, fixed=True
    )
    flow.y = h


def _hero(
    flow: _Flow,
    *,
    title: str,
    subtitle: str,
    cta: tuple[str, str] | None,
    secondary: tuple[str, str] | None = None,
    image: bool = True,
) -> None:
    m, cw, top = flow.margin, flow.content_width, flow.y
    mobile = flow.breakpoint == "mobile"
    height = flow.pick(560, 520, 760 if image else 460)
    flow.add("section.hero", "band", "hero", 0, top, flow.width, height)
    text_w = cw if mobile else cw * flow.pick(0.5, 0.55, 1.0)
    y = top + flow.pick(110, 90, 48)
    title_h = flow.pick(112, 96, 84)
    flow.add("section.hero > h1.hero-title", "heading", title, m, y, text_w, title_h)
    y += title_h + 24
    sub_h = flow.pick(60, 60, 84)
    flow.add("section.hero > p.hero-subtitle", "text", subtitle, m, y, text_w, sub_h)
    y += sub_h + 36
    button_w = cw if mobile else flow.pick(230, 210, 0)
    if cta:
        flow.add(cta[0], "button", cta[1], m, y, button_w, 52, weight=9.0)
    if secondary:
        sx, sy = (m, y + 64) if mobile else (m + button_w + 16, y)
        flow.add(secondary[0], "button2", secondary[1], sx, sy, cw if mobile else 190, 52)
        y = sy
    if image:
        if mobile:
            flow.add(
                "section.hero > img.hero-image", "image", "", m, y + 92, cw, top + height - 40 - (y + 92)
            )
        else:
            flow.add(
                "section.hero > img.hero-image", "image", "", m + cw * 0.58, top + 60, cw * 0.42, height - 120
            )
    flow.y = top + height


def _section_title(flow: _Flow, selector: str, text: str) -> None:
    flow.add(selector, "heading", text, flow.margin, flow.y + 56, flow.content_width * 0.6, 40, weight=0.8)
    flow.y += 120


def _product_card(flow: _Flow, base: str, index: int) -> Fill:
    def fill(k: int, x: float, y: float, w: float, h: float) -> None:
        _, name, price = _PRODUCTS[(index + k) % len(_PRODUCTS)]
        card = f"{base}:nth-of-type({k})"
        sold_out = (index + k) % 7 == 5
        image_h = h * 0.6
        flow.add(card, "band", "card", x, y, w, h)
        flow.add(f"{card} > img.product-photo", "image" if sold_out else "thumb", "", x, y, w, image_h)
        flow.add(f"{card} > h3.card-title", "link", name, x + 12, y + image_h + 12, w - 24, 44, weight=1.2)
        flow.add(f"{card} > span.price", "label", price, x + 12, y + image_h + 60, 80, 22)
        if sold_out:
            flow.add(f"{card} > button.btn-disabled", "card", "Sold out", x + 12, y + h - 52, w - 24, 40)
        else:
            flow.add(
                f"{card} > button.add-to-cart",
                "button",
                "Add to cart",
                x + 12,
                y + h - 52,
                w - 24,
                40,
                weight=3.0,
            )

    return fill


def _product_grid(flow: _Flow, base: str, count: int, index: int, *, sidebar: bool = False) -> None:
    cols = flow.pick(3 if sidebar else 4, 2, 2)
    x0 = flow.margin + (280 if sidebar and flow.breakpoint == "desktop" else 0)
    width = flow.content_width - (x0 - flow.margin)
    _grid(
        flow,
        count,
        cols,
        flow.pick(420, 460, 330),
        _product_card(flow, base, index),
        gap=flow.pick(24, 24, 16),
        x0=x0,
        width=width,
    )


def _feature_grid(flow: _Flow, base: str, titles: tuple[str, ...]) -> None:
    def fill(k: int, x: float, y: float, w: float, h: float) -> None:
        item = f"{base}:nth-of-type({k})"
        flow.add(f"{item} > img.feature-icon", "image", "", x, y, 56, 56, weight=1.0)
        flow.add(f"{item} > h3", "heading", titles[k - 1], x, y + 72, w, 32)
        flow.add(f"{item} > p", "text", "", x, y + 112, w, h - 112)

    _grid(flow, len(titles), flow.pick(len(titles), len(titles), 1), flow.pick(200, 230, 190), fill, gap=32)


def _testimonials(flow: _Flow) -> None:
    _section_title(flow, "#testimonials > h2", "Loved on the trail")

    def fill(k: int, x: float, y: float, w: float, h: float) -> None:
        item = f"#testimonials > div.testimonial:nth-of-type({k})"
        flow.add(item, "card", "", x, y, w, h, weight=0.8)
        flow.add(f"{item} > p", "text", "", x + 24, y + 24, w - 48, h - 96)
        flow.add(
            f"{item} > span.author",
            "label",
            ("Maya R.", "Jonas K.", "Priya S.")[k - 1],
            x + 24,
            y + h - 52,
            160,
            24,
        )

    _grid(flow, 3, flow.pick(3, 3, 1), flow.pick(220, 260, 190), fill)


def _promo(flow: _Flow, heading: str, cta: tuple[str, str]) -> None:
    top, m, cw = flow.y + 64, flow.margin, flow.content_width
    height = flow.pick(300, 320, 400)
    flow.add("section.promo-banner", "band", "promo", 0, top, flow.width, height)
    flow.add("section.promo-banner > h2", "heading", heading, m, top + 60, cw * flow.pick(0.6, 0.8, 1.0), 48)
    flow.add("section.promo-banner > p", "text", "", m, top + 124, cw * flow.pick(0.5, 0.7, 1.0), 56)
    button_w = cw if flow.breakpoint == "mobile" else 240
    flow.add(cta[0], "button", cta[1], m, top + height - flow.pick(92, 92, 100), button_w, 52, weight=8.0)
    flow.y = top + height


def _footer(flow: _Flow) -> None:
    top, m, cw = flow.y + 64, flow.margin, flow.content_width
    height = flow.pick(380, 420, 820)
    flow.add("#site-footer", "band", "footer", 0, top, flow.width, height)
    columns = (
        ("Shop", "New arrivals", "Best sellers", "Sale", "Gift cards"),
        ("Help", "Shipping", "Returns", "Size guide", "Contact"),
        ("Company", "About", "Journal", "Careers", "Press"),
    )
    col_w = flow.pick(200, 180, cw / 2)
    for c, (heading, *links) in enumerate(columns, start=1):
        row, col = divmod(c - 1, 2) if flow.breakpoint == "mobile" else (0, c - 1)
        x, y = m + col * col_w, top + 56 + row * 220
        flow.add(
            f"#site-footer > div.footer-col:nth-of-type({c}) > h4", "flabel", heading, x, y, col_w - 24, 24
        )
        for k, link in enumerate(links, start=1):
            selector = f"#site-footer > div.footer-col:nth-of-type({c}) > a:nth-of-type({k})"
            flow.add(selector, "flink", link, x, y + 40 + (k - 1) * 34, col_w - 24, 22)
    nx, ny = (m, top + 500) if flow.breakpoint == "mobile" else (m + flow.pick(680, 560, 0), top + 56)
    nw = cw if flow.breakpoint == "mobile" else cw - (nx - m)
    flow.add("#site-footer > div.newsletter > h4", "flabel", "Trail notes, monthly", nx, ny, nw, 24)
    flow.add("#newsletter-email", "input", "you@example.com", nx, ny + 44, nw * 0.62, 48)
    flow.add("#newsletter-submit", "button", "Subscribe", nx + nw * 0.66, ny + 44, nw * 0.34, 48, weight=2.0)
    flow.add(
        "#site-footer > p.copyright", "flabel", "(c) Trailmark Outfitters", m, top + height - 56, 260, 22
    )
    flow.y = top + height


def _breadcrumb(flow: _Flow, labels: tuple[str, ...]) -> None:
    x = flow.margin
    for k, label in enumerate(labels, start=1):
        width = min(8.5 * len(label) + 8, flow.margin + flow.content_width - x)
        flow.add(f"nav.breadcrumb > a:nth-of-type({k})", "link", label, x, flow.y + 20, width, 20, weight=0.6)
        x += width + 24
    flow.y += 56


def _paragraphs(flow: _Flow, base: str, count: int, x: float, width: float, start: int = 1) -> int:
    """Adds ``count`` paragraphs ``{base}:nth-of-type(k)``; returns the next k."""
    for k in range(start, start + count):
        height = _text_height(flow.rng.randint(50, 120), width)
        flow.add(f"{base}:nth-of-type({k})", "text", "", x, flow.y, width, height)
        flow.y += height + 24
    return start + count


def _build_home(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    _hero(
        flow,
        title=spec.title,
        subtitle="Technical outerwear, packs and camp kit, tested on real trails.",
        cta=("#shop-now-cta", "Shop the collection"),
        secondary=("section.hero > a.btn-secondary", "Watch the film"),
    )
    _section_title(flow, "#categories > h2", "Shop by category")

    def tile(k: int, x: float, y: float, w: float, h: float) -> None:
        name = ("Jackets", "Footwear", "Backpacks", "Camping")[k - 1]
        flow.add(f"#categories > a.category-tile:nth-of-type({k})", "thumb", name, x, y, w, h, weight=3.0)

    _grid(flow, 4, flow.pick(4, 2, 2), flow.pick(220, 200, 160), tile, gap=flow.pick(24, 24, 16))
    _section_title(flow, "#featured > h2", "Best sellers")
    _product_grid(flow, "#featured > div.product-card", 8, 0)
    _promo(flow, "Join Trailmark Plus, get 10% off", ("#signup-cta", "Join for free"))
    _testimonials(flow)
    _section_title(flow, "#journal > h2", "From the journal")
    _post_cards(flow, 3)
    _footer(flow)


def _post_cards(flow: _Flow, count: int) -> None:
    posts = [spec for spec in _PAGES if spec.kind == "blog_post"]

    def fill(k: int, x: float, y: float, w: float, h: float) -> None:
        card = f"div.post-card:nth-of-type({k})"
        flow.add(card, "band", "card", x, y, w, h)
        flow.add(f"{card} > img.post-cover", "thumb", "", x, y, w, h * 0.5, weight=1.5)
        flow.add(
            f"{card} > h3 > a",
            "link",
            posts[(k - 1) % len(posts)].title,
            x + 16,
            y + h * 0.5 + 16,
            w - 32,
            56,
            weight=2.0,
        )
        flow.add(f"{card} > p.excerpt", "text", "", x + 16, y + h * 0.5 + 84, w - 32, h * 0.5 - 140)
        flow.add(f"{card} > a.read-more", "link", "Read more", x + 16, y + h - 44, 110, 22, weight=2.0)

    _grid(flow, count, flow.pick(3, 2, 1), flow.pick(400, 420, 400), fill)


def _build_listing(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    _breadcrumb(flow, ("Home", spec.title))
    m, cw = flow.margin, flow.content_width
    flow.add("main > h1", "heading", spec.title, m, flow.y, cw * 0.6, 48)
    flow.y += 72
    flow.add(
        "#sort-by",
        "select",
        "Sort: Featured",
        m + cw - flow.pick(220, 220, 170),
        flow.y,
        flow.pick(220, 220, 170),
        44,
    )
    if flow.breakpoint != "desktop":
        flow.add("button.filter-toggle", "button2", "Filters", m, flow.y, 160, 44, weight=3.0)
    flow.y += 76
    top = flow.y
    if flow.breakpoint == "desktop":
        filters = ("Waterproof", "Insulated", "Ultralight", "Recycled", "Women", "Men", "Kids", "On sale")
        for k, label in enumerate(filters, start=1):
            flow.add(
                f"aside.filters > label:nth-of-type({k})",
                "chip",
                label,
                m,
                top + (k - 1) * 44,
                220,
                32,
                weight=1.0,
            )
    count = 16 if spec.kind == "listing" else 12
    _product_grid(flow, "#product-grid > div.product-card", count, len(spec.path), sidebar=True)
    flow.y += 40
    for k in range(1, 5):
        flow.add(
            f"nav.pagination > a:nth-of-type({k})",
            "chip",
            str(k),
            m + cw / 2 - 100 + (k - 1) * 52,
            flow.y,
            44,
            44,
            weight=1.2,
        )
    flow.y += 60
    _footer(flow)


def _build_pricing(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    _hero(
        flow,
        title=spec.title,
        subtitle="Free shipping, member prices and repairs for life. Cancel any time.",
        cta=None,
        image=False,
    )
    m, cw = flow.margin, flow.content_width
    # The billing toggle is broken on phones only: a breakpoint-specific bug for the demo.
    flow.add(
        "#billing-toggle",
        "chip",
        "Monthly | Yearly",
        m + cw / 2 - 120,
        flow.y - 84,
        240,
        44,
        weight=3.0,
        broken=flow.breakpoint == "mobile",
    )
    flow.y += 48
    plans = (("Trail", "$0"), ("Summit", "$9/mo"), ("Expedition", "$19/mo"))

    def card(k: int, x: float, y: float, w: float, h: float) -> None:
        base = f"div.pricing-card:nth-of-type({k})"
        flow.add(base, "band", "card", x, y, w, h)
        if k == 2:
            flow.add(f"{base} > span.badge", "card", "Most popular", x + w - 150, y + 20, 130, 28, weight=1.0)
        flow.add(f"{base} > h3.plan-name", "heading", plans[k - 1][0], x + 28, y + 32, w - 190, 36)
        flow.add(f"{base} > p.plan-price", "heading", plans[k - 1][1], x + 28, y + 84, w - 56, 48)
        flow.add(f"{base} > ul.features", "text", "", x + 28, y + 156, w - 56, h - 260)
        flow.add(
            f"{base} > button.btn-primary",
            "button",
            "Choose " + plans[k - 1][0],
            x + 28,
            y + h - 84,
            w - 56,
            52,
            weight=9.0 if k == 2 else 5.0,
        )

    _grid(flow, 3, flow.pick(3, 3, 1), flow.pick(520, 560, 480), card)
    _section_title(flow, "#compare > h2", "Compare plans")
    for k in range(1, 9):
        flow.add(f"table.compare > tbody > tr:nth-of-type({k})", "text", "", m, flow.y, cw, 40)
        flow.y += 48
    flow.add("#compare > a.compare-toggle", "link", "Show all features", m, flow.y + 8, 180, 24)
    flow.y += 40
    _faq_rows(flow, "#pricing-faq", 6)
    _promo(flow, "Try Plus free for 30 days", ("#signup-cta", "Start free trial"))
    _footer(flow)


def _faq_rows(flow: _Flow, base: str, count: int) -> None:
    _section_title(flow, f"{base} > h2", "Questions")
    for k in range(1, count + 1):
        flow.add(
            f"{base} > details:nth-of-type({k}) > summary",
            "row",
            f"Question {k}",
            flow.margin,
            flow.y,
            flow.content_width,
            56,
            weight=2.0,
        )
        flow.y += 64


def _build_product(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    _breadcrumb(flow, ("Home", "Shop", spec.title))
    m, cw, top = flow.margin, flow.content_width, flow.y
    stacked = flow.breakpoint == "mobile"
    gallery_w = cw if stacked else cw * flow.pick(0.56, 0.52, 1.0)
    image_h = gallery_w * (1.0 if stacked else 0.86)
    flow.add("#product-gallery > img.product-photo", "image", "", m, top, gallery_w, image_h, weight=4.0)
    arrow_y = top + image_h / 2 - 24
    flow.add("#product-gallery > button.carousel-prev", "chip", "<", m + 12, arrow_y, 48, 48, weight=1.0)
    # A template bug: the next arrow does nothing, on every product page.
    flow.add(
        "#product-gallery > button.carousel-next",
        "chip",
        ">",
        m + gallery_w - 60,
        arrow_y,
        48,
        48,
        weight=1.3,
        broken=True,
    )
    thumb_w = (gallery_w - 3 * 12) / 4
    for k in range(1, 5):
        flow.add(
            f"#product-gallery > div.thumbs > img:nth-of-type({k})",
            "thumb",
            "",
            m + (k - 1) * (thumb_w + 12),
            top + image_h + 16,
            thumb_w,
            min(thumb_w, 110),
            weight=1.0,
        )
    gallery_bottom = top + image_h + 16 + min(thumb_w, 110)
    x = m if stacked else m + gallery_w + flow.pick(56, 32, 0)
    w = cw if stacked else cw - gallery_w - flow.pick(56, 32, 0)
    y = gallery_bottom + 32 if stacked else top
    flow.add("#product-info > h1.product-title", "heading", spec.title, x, y, w, 88)
    flow.add(
        "#product-info > span.product-price", "heading", _price(spec.path), x, y + 100, 120, 36, weight=0.8
    )
    flow.add("#product-info > a.rating-link", "link", "4.7 (212 reviews)", x, y + 148, 180, 22)
    flow.add("#product-info > p.summary", "text", "", x, y + 190, w, 84)
    flow.add("#size-picker", "select", "Choose a size", x, y + 296, w, 48, weight=4.0)
    for k in range(1, 5):
        flow.add(
            f"#product-info > div.swatches > button:nth-of-type({k})",
            "chip",
            "",
            x + (k - 1) * 52,
            y + 364,
            40,
            40,
            weight=1.2,
        )
    flow.add("#add-to-cart", "button", "Add to cart", x, y + 428, w, 56, weight=10.0)
    flow.add("#product-info > button.wishlist", "button2", "Save to wishlist", x, y + 500, w, 48)
    flow.add("#product-info > a.size-guide", "link", "Size guide", x, y + 568, 120, 22)
    flow.add("#product-info > p.shipping-note", "text", "", x, y + 606, w, 56)
    flow.y = max(gallery_bottom, y + 662) + 48
    _section_title(flow, "#details > h2", "Details")
    article_w = min(cw, 760)
    _paragraphs(flow, "#details > p", 3, m, article_w)
    _section_title(flow, "#reviews > h2", "Reviews")
    for k in range(1, 5):
        height = _text_height(flow.rng.randint(30, 90), article_w) + 40
        flow.add(f"#reviews > div.review:nth-of-type({k})", "text", "", m, flow.y, article_w, height)
        flow.y += height + 24
    flow.add("#reviews > button.load-more-reviews", "button2", "Load more reviews", m, flow.y, 220, 48)
    flow.y += 48
    _section_title(flow, "#related > h2", "You might also like")
    _product_grid(flow, "#related > div.product-card", 4, len(spec.path) + 3)
    _footer(flow)


def _price(path: str) -> str:
    slug = path.rsplit("/", 1)[-1]
    return next(price for s, _, price in _PRODUCTS if s == slug)


def _build_cart(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    m, cw = flow.margin, flow.content_width
    flow.add("main > h1", "heading", spec.title, m, flow.y + 40, 360, 48)
    flow.y += 120
    stacked = flow.breakpoint == "mobile"
    items_w = cw if stacked else cw * 0.62
    top = flow.y
    for k in range(1, 4):
        row = f"div.cart-item:nth-of-type({k})"
        y = top + (k - 1) * 152
        flow.add(row, "band", "card", m, y, items_w, 136)
        flow.add(f"{row} > img", "thumb", "", m + 16, y + 16, 104, 104, weight=1.0)
        flow.add(f"{row} > a.item-name", "link", _PRODUCTS[k * 3][1], m + 136, y + 20, items_w - 260, 24)
        flow.add(f"{row} > input.qty", "input", "1", m + 136, y + 64, 72, 40, weight=2.0)
        flow.add(f"{row} > button.remove-item", "link", "Remove", m + 224, y + 72, 80, 22, weight=1.2)
        flow.add(f"{row} > span.line-total", "label", _PRODUCTS[k * 3][2], m + items_w - 100, y + 20, 84, 24)
    sx = m if stacked else m + items_w + 32
    sy = top + 3 * 152 + 16 if stacked else top
    sw = cw if stacked else cw - items_w - 32
    flow.add("aside.order-summary", "band", "card", sx, sy, sw, 320)
    flow.add("aside.order-summary > h2", "heading", "Summary", sx + 24, sy + 24, sw - 48, 32)
    flow.add("aside.order-summary > dl.totals", "text", "", sx + 24, sy + 76, sw - 48, 100)
    flow.add("#checkout-btn", "button", "Checkout", sx + 24, sy + 200, sw - 48, 56, weight=12.0)
    flow.add(
        "aside.order-summary > a.continue-shopping", "link", "Continue shopping", sx + 24, sy + 276, 200, 22
    )
    flow.y = max(top + 3 * 152, sy + 320) + 24
    _section_title(flow, "#recommended > h2", "Complete your kit")
    _product_grid(flow, "#recommended > div.product-card", 4, 5)
    _footer(flow)


def _build_checkout(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow, minimal=True)
    m, cw = flow.margin, flow.content_width
    flow.add("main > h1", "heading", spec.title, m, flow.y + 40, 360, 48)
    flow.y += 120
    stacked = flow.breakpoint == "mobile"
    form_w = cw if stacked else cw * 0.58
    top = flow.y
    rows: tuple[str | tuple[tuple[str, str], ...], ...] = (
        "Contact",
        (("input[name=email]", "Email"),),
        "Shipping address",
        (("input[name=first-name]", "First name"), ("input[name=last-name]", "Last name")),
        (("input[name=address]", "Address"),),
        (("input[name=city]", "City"), ("input[name=postal-code]", "Postal code")),
        (("select[name=country]", "Country"),),
        "Payment",
        (("input[name=card-number]", "Card number"),),
        (("input[name=expiry]", "MM / YY"), ("input[name=cvc]", "CVC")),
    )
    y, heading = top, 0
    for row in rows:
        if isinstance(row, str):
            heading += 1
            flow.add(f"#checkout-form > h2:nth-of-type({heading})", "label", row, m, y + 16, form_w, 28)
            y += 60
            continue
        field_w = (form_w - 16 * (len(row) - 1)) / len(row)
        for k, (name, label) in enumerate(row):
            role = "select" if name.startswith("select") else "input"
            flow.add(f"#checkout-form > {name}", role, label, m + k * (field_w + 16), y, field_w, 48)
        y += 64
    for k, label in enumerate(("Standard (free)", "Express ($15)"), start=1):
        flow.add(f"#checkout-form > label.shipping-option:nth-of-type({k})", "row", label, m, y, form_w, 56)
        y += 64
    sx = m if stacked else m + form_w + 40
    sy = y + 16 if stacked else top
    sw = cw if stacked else cw - form_w - 40
    flow.add("aside.order-summary", "band", "card", sx, sy, sw, 470)
    flow.add("aside.order-summary > ul.items", "text", "", sx + 24, sy + 24, sw - 48, 150)
    flow.add("#coupon-code", "input", "Coupon code", sx + 24, sy + 200, sw * 0.6 - 24, 48, weight=2.0)
    # The coupon button never answers: the checkout's rage-click magnet.
    flow.add(
        "#apply-coupon",
        "button2",
        "Apply",
        sx + sw * 0.6 + 8,
        sy + 200,
        sw * 0.4 - 32,
        48,
        weight=3.0,
        broken=True,
    )
    flow.add("aside.order-summary > dl.totals", "text", "", sx + 24, sy + 272, sw - 48, 110)
    flow.add(
        "aside.order-summary > img.payment-badges", "image", "", sx + 24, sy + 400, sw - 48, 44, weight=1.5
    )
    place_y = (sy + 470 + 32) if stacked else y + 16
    flow.add("#place-order", "button", "Place order", m, place_y, form_w, 56, weight=10.0)
    flow.y = max(place_y + 56, sy + 470) + 48
    _feature_grid(flow, "#assurances > div.assurance", ("Secure payment", "Free returns", "Repairs for life"))
    _footer(flow)


def _build_signup(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    m, cw, top = flow.margin, flow.content_width, flow.y + 56
    stacked = flow.breakpoint == "mobile"
    form_w = cw if stacked else cw * 0.42
    fx = m if stacked else m + cw - form_w
    flow.add("#signup-form", "band", "card", fx, top, form_w, 560)
    inner = fx + 32, form_w - 64
    flow.add("#signup-form > h2", "heading", "Create your account", inner[0], top + 32, inner[1], 36)
    flow.add(
        "#signup-form > button.google-signin",
        "button2",
        "Continue with Google",
        inner[0],
        top + 96,
        inner[1],
        52,
        weight=5.0,
    )
    flow.add("#signup-form > input[name=name]", "input", "Full name", inner[0], top + 184, inner[1], 48)
    flow.add("#signup-form > input[name=email]", "input", "Email", inner[0], top + 248, inner[1], 48)
    flow.add("#signup-form > input[name=password]", "input", "Password", inner[0], top + 312, inner[1], 48)
    flow.add(
        "#signup-form > label.terms",
        "chip",
        "I accept the terms",
        inner[0],
        top + 376,
        inner[1],
        32,
        weight=1.5,
    )
    flow.add("#signup-submit", "button", "Create account", inner[0], top + 432, inner[1], 52, weight=9.0)
    flow.add(
        "#signup-form > a.login-link", "link", "Already a member? Sign in", inner[0], top + 504, inner[1], 22
    )
    py = top + 600 if stacked else top
    pw = cw if stacked else cw * 0.5
    flow.add("main > h1", "heading", spec.title, m, py, pw, 96)
    flow.add("main > p.lead", "text", "", m, py + 120, pw, 112)
    for k in range(1, 6):
        lw = (pw - 4 * 16) / 5
        flow.add(
            f"div.customer-logos > img:nth-of-type({k})",
            "image",
            "",
            m + (k - 1) * (lw + 16),
            py + 272,
            lw,
            48,
            weight=0.8,
        )
    flow.y = max(top + 560, py + 320) + 64
    _feature_grid(flow, "#benefits > div.benefit", ("Member prices", "Free shipping", "Repairs for life"))
    _testimonials(flow)
    _footer(flow)


def _build_login(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    w = min(flow.content_width, 440)
    x, top = (flow.width - w) / 2, flow.y + 80
    flow.add("#login-form", "band", "card", x, top, w, 500)
    flow.add("#login-form > h1", "heading", spec.title, x + 32, top + 32, w - 64, 40)
    flow.add(
        "#login-form > button.google-signin",
        "button2",
        "Continue with Google",
        x + 32,
        top + 100,
        w - 64,
        52,
        weight=4.0,
    )
    flow.add("#login-form > input[name=email]", "input", "Email", x + 32, top + 188, w - 64, 48)
    flow.add("#login-form > input[name=password]", "input", "Password", x + 32, top + 252, w - 64, 48)
    flow.add("#login-submit", "button", "Sign in", x + 32, top + 324, w - 64, 52, weight=9.0)
    flow.add(
        "#login-form > a.forgot-password", "link", "Forgot password?", x + 32, top + 396, 180, 22, weight=2.0
    )
    flow.add(
        "#login-form > a.signup-link",
        "link",
        "New here? Join Trailmark",
        x + 32,
        top + 440,
        240,
        22,
        weight=2.0,
    )
    flow.y = top + 500 + 48
    _feature_grid(flow, "#benefits > div.benefit", ("Order history", "Saved gear", "Faster checkout"))
    _footer(flow)


def _build_docs(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    m, cw = flow.margin, flow.content_width
    desktop = flow.breakpoint == "desktop"
    top = flow.y + 40
    if desktop:
        topics = (
            "Orders",
            "Shipping and returns",
            "Size guide",
            "Warranty",
            "Repairs",
            "Payments",
            "Membership",
            "Account",
            "Gift cards",
            "Contact",
        )
        for k, label in enumerate(topics, start=1):
            flow.add(
                f"aside.docs-nav > a:nth-of-type({k})",
                "link",
                label,
                m,
                top + (k - 1) * 40,
                220,
                24,
                weight=1.5,
            )
        x, w = m + 280, min(760, cw - 280)
    else:
        flow.add("aside.docs-nav > button.docs-menu", "button2", "Browse topics", m, top, cw, 48, weight=3.0)
        top += 72
        x, w = m, cw
    flow.y = top
    flow.add("#docs-search", "input", "Search help articles", x, flow.y, w, 48, weight=3.0)
    flow.y += 80
    flow.add("article.doc > h1", "heading", spec.title, x, flow.y, w, 48)
    flow.y += 80
    sections = 3 + len(spec.path) % 3
    paragraph = 1
    for k in range(1, sections + 1):
        flow.add(f"article.doc > h2:nth-of-type({k})", "heading", f"Section {k}", x, flow.y, w * 0.7, 36)
        flow.y += 56
        paragraph = _paragraphs(flow, "article.doc > p", 2, x, w, paragraph)
        if k % 2:
            flow.add(
                f"article.doc > div.callout:nth-of-type({(k + 1) // 2})",
                "card",
                "",
                x,
                flow.y,
                w,
                96,
                weight=1.0,
            )
            flow.y += 120
    flow.add("#feedback > button.feedback-yes", "button2", "Yes, helpful", x, flow.y, 150, 44)
    flow.add("#feedback > button.feedback-no", "button2", "Not really", x + 166, flow.y, 150, 44)
    flow.y += 76
    flow.add("article.doc > a.next-page", "link", "Next article", x, flow.y, 160, 24, weight=2.0)
    flow.y = max(flow.y + 24, top + 440 if desktop else 0)
    _footer(flow)


def _build_blog_index(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    m, cw = flow.margin, flow.content_width
    flow.add("main > h1", "heading", spec.title, m, flow.y + 48, cw * 0.7, 56)
    flow.add("main > p.lead", "text", "", m, flow.y + 120, cw * 0.6, 56)
    flow.y += 208
    stacked = flow.breakpoint == "mobile"
    image_w = cw if stacked else cw * 0.58
    flow.add("#featured-post > img.post-cover", "thumb", "", m, flow.y, image_w, image_w * 0.56, weight=3.0)
    tx = m if stacked else m + image_w + 40
    ty = flow.y + image_w * 0.56 + 24 if stacked else flow.y + 24
    tw = cw if stacked else cw - image_w - 40
    flow.add("#featured-post > h2 > a", "link", _PAGES[17].title, tx, ty, tw, 96, weight=4.0)
    flow.add("#featured-post > p.excerpt", "text", "", tx, ty + 112, tw, 112)
    flow.add("#featured-post > a.read-more", "link", "Read the story", tx, ty + 240, 160, 22, weight=3.0)
    flow.y = max(flow.y + image_w * 0.56, ty + 262) + 64
    _post_cards(flow, 6)
    flow.y += 40
    for k in range(1, 4):
        flow.add(
            f"nav.pagination > a:nth-of-type({k})",
            "chip",
            str(k),
            m + cw / 2 - 78 + (k - 1) * 52,
            flow.y,
            44,
            44,
        )
    flow.y += 44
    _promo(flow, "Trail notes in your inbox", ("#newsletter-cta", "Subscribe"))
    _footer(flow)


def _build_blog_post(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    w = min(flow.content_width, flow.pick(720, 640, 358))
    x = (flow.width - w) / 2
    flow.add("article.post > a.back-to-journal", "link", "Journal", x, flow.y + 32, 100, 22, weight=1.0)
    flow.add(
        "article.post > h1.post-title", "heading", spec.title, x, flow.y + 72, w, flow.pick(120, 120, 132)
    )
    flow.y += flow.pick(216, 216, 228)
    flow.add("article.post > a.author-link", "link", "By Sam Okafor", x, flow.y, 160, 22, weight=1.0)
    flow.add("article.post > time", "label", "8 min read", x + 180, flow.y, 120, 22)
    flow.y += 48
    cover_w = flow.content_width if flow.breakpoint == "mobile" else min(flow.content_width, w + 240)
    flow.add(
        "article.post > img.post-cover",
        "image",
        "",
        (flow.width - cover_w) / 2,
        flow.y,
        cover_w,
        cover_w * 0.5,
        weight=4.0,
    )
    flow.y += cover_w * 0.5 + 48
    sections = 3 + len(spec.path) % 3
    paragraph = figure = 1
    for k in range(1, sections + 1):
        flow.add(f"article.post > h2:nth-of-type({k})", "heading", f"Part {k}", x, flow.y, w, 40)
        flow.y += 64
        paragraph = _paragraphs(flow, "article.post > p", flow.rng.randint(2, 3), x, w, paragraph)
        if k % 2 == 0:
            flow.add(
                f"article.post > figure:nth-of-type({figure}) > img",
                "image",
                "",
                x,
                flow.y,
                w,
                w * 0.6,
                weight=2.5,
            )
            flow.y += w * 0.6 + 16
            flow.add(
                f"article.post > figure:nth-of-type({figure}) > figcaption",
                "label",
                "Photo: Trailmark team",
                x,
                flow.y,
                w,
                22,
            )
            flow.y += 56
            figure += 1
    for k, label in enumerate(("Share", "Copy link", "Email"), start=1):
        flow.add(
            f"div.share > button:nth-of-type({k})",
            "chip",
            label,
            x + (k - 1) * 116,
            flow.y,
            104,
            40,
            weight=1.0,
        )
    flow.y += 72
    _section_title(flow, "#related > h2", "Keep reading")
    _post_cards(flow, 3)
    _section_title(flow, "#comments > h2", "Comments")
    for k in range(1, 4):
        flow.add(f"#comments > div.comment:nth-of-type({k})", "text", "", x, flow.y, w, 84)
        flow.y += 108
    flow.add("#comment-body", "input", "Add a comment", x, flow.y, w, 120, weight=1.5)
    flow.add("#post-comment", "button", "Post comment", x, flow.y + 136, 180, 48, weight=2.0)
    flow.y += 184
    _footer(flow)


def _build_about(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    _hero(
        flow,
        title=spec.title,
        subtitle="Founded by three guides in 2012. Still designing every piece in Boulder.",
        cta=("#careers-cta", "See open roles"),
    )
    w = min(flow.content_width, 720)
    x = (flow.width - w) / 2
    flow.y += 64
    _paragraphs(flow, "#story > p", 4, x, w)
    _section_title(flow, "#values > h2", "What we stand for")
    _feature_grid(flow, "#values > div.value", ("Built to last", "Fairly made", "Repair first"))

    def member(k: int, mx: float, my: float, mw: float, mh: float) -> None:
        card = f"#team > div.member:nth-of-type({k})"
        flow.add(f"{card} > img", "image", "", mx, my, mw, mh - 64, weight=1.5)
        flow.add(f"{card} > h3", "heading", f"Team member {k}", mx, my + mh - 52, mw, 24)

    _section_title(flow, "#team > h2", "The team")
    _grid(flow, 8, flow.pick(4, 4, 2), flow.pick(340, 260, 240), member, gap=flow.pick(24, 16, 16))
    _footer(flow)


def _build_contact(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    m, cw = flow.margin, flow.content_width
    flow.add("main > h1", "heading", spec.title, m, flow.y + 48, cw * 0.6, 56)
    flow.y += 144
    stacked = flow.breakpoint == "mobile"
    form_w = cw if stacked else cw * 0.56
    top = flow.y
    for k, (name, label) in enumerate(
        (("name", "Your name"), ("email", "Email"), ("topic", "Topic")), start=1
    ):
        role = "select" if name == "topic" else "input"
        flow.add(f"#contact-form > {role}[name={name}]", role, label, m, top + (k - 1) * 72, form_w, 52)
    flow.add(
        "#contact-form > textarea[name=message]",
        "input",
        "How can we help?",
        m,
        top + 216,
        form_w,
        200,
        weight=3.0,
    )
    flow.add("#contact-send", "button", "Send message", m, top + 440, 200, 52, weight=8.0)
    sx = m if stacked else m + form_w + 48
    sy = top + 540 if stacked else top
    sw = cw if stacked else cw - form_w - 48
    flow.add("aside.contact-info > p", "text", "", sx, sy, sw, 112)
    flow.add(
        "aside.contact-info > a.support-email",
        "link",
        "help@shop.example.com",
        sx,
        sy + 132,
        240,
        22,
        weight=2.0,
    )
    flow.add("aside.contact-info > img.store-map", "image", "", sx, sy + 180, sw, 320, weight=4.0)
    flow.y = max(top + 492, sy + 500) + 48
    _faq_rows(flow, "#contact-faq", 5)
    _footer(flow)


def _build_faq(flow: _Flow, spec: _PageSpec) -> None:
    _header(flow)
    m, cw = flow.margin, flow.content_width
    flow.add("main > h1", "heading", spec.title, m, flow.y + 48, cw * 0.8, 56)
    flow.add("#faq-search", "input", "Search questions", m, flow.y + 128, min(cw, 560), 52, weight=4.0)
    flow.y += 212
    for k, label in enumerate(("Orders", "Shipping", "Returns", "Membership"), start=1):
        flow.add(
            f"div.faq-topics > button:nth-of-type({k})",
            "chip",
            label,
            m + (k - 1) * flow.pick(140, 130, 88),
            flow.y,
            flow.pick(124, 118, 80),
            40,
        )
    flow.y += 72
    for k in range(1, 15):
        flow.add(
            f"#faq > details:nth-of-type({k}) > summary",
            "row",
            f"Question {k}",
            m,
            flow.y,
            cw,
            60,
            weight=2.0,
        )
        flow.y += 72
    _promo(flow, "Still need help?", ("#contact-support", "Contact support"))
    _footer(flow)


_BUILDERS: dict[str, Callable[[_Flow, _PageSpec], None]] = {
    "home": _build_home,
    "listing": _build_listing,
    "category": _build_listing,
    "pricing": _build_pricing,
    "product": _build_product,
    "cart": _build_cart,
    "checkout": _build_checkout,
    "signup": _build_signup,
    "login": _build_login,
    "docs": _build_docs,
    "blog_index": _build_blog_index,
    "blog_post": _build_blog_post,
    "about": _build_about,
    "contact": _build_contact,
    "faq": _build_faq,
}


@cache
def _layout(index: int, breakpoint: str) -> PageLayout:
    spec = _PAGES[index]
    flow = _Flow(breakpoint, spec.path)
    _BUILDERS[spec.kind](flow, spec)
    return PageLayout(
        page_key=_page_key(spec.path),
        path=spec.path,
        title=spec.title,
        breakpoint=breakpoint,
        width=flow.width,
        height=math.ceil(flow.y),
        elements=tuple(flow.items),
    )


def page_layout(page_key: str, breakpoint: str) -> PageLayout | None:
    """The layout of a demo page (any URL of it; normalised as in CONTRACT 3.2) or None if unknown."""
    try:
        key = normalize_page_key(page_key)
    except InvalidUrlError:
        return None
    index = _PAGE_INDEX.get(key)
    if index is None or breakpoint not in BREAKPOINTS:
        return None
    return _layout(index, breakpoint)


_PAGE_INDEX = {_page_key(spec.path): index for index, spec in enumerate(_PAGES)}

# ---------------------------------------------------------------------------------------------------
# Visitors
# ---------------------------------------------------------------------------------------------------

_DEVICE_SHARE = (("desktop", 50), ("mobile", 40), ("tablet", 10))
# (width, height, weight): CSS viewport sizes (browser chrome excluded on desktop).
_VIEWPORTS = {
    "desktop": (
        (1920, 969, 26),
        (1536, 747, 20),
        (1440, 789, 18),
        (1366, 657, 14),
        (1280, 720, 14),
        (2560, 1297, 8),
    ),
    "tablet": ((768, 1024, 32), (820, 1180, 30), (810, 1080, 16), (800, 1280, 12), (912, 1368, 10)),
    "mobile": (
        (390, 844, 24),
        (393, 852, 16),
        (414, 896, 12),
        (375, 667, 10),
        (360, 800, 14),
        (412, 915, 16),
        (430, 932, 8),
    ),
}
_BLINK = "AppleWebKit/537.36 (KHTML, like Gecko)"
_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5"
_UA_WINDOWS = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_BLINK} Chrome/126.0.0.0 Safari/537.36"
_UA_PIXEL = f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_BLINK} Chrome/126.0.0.0 Mobile Safari/537.36"
_UA_GALAXY = f"Mozilla/5.0 (Linux; Android 14; SM-S921B) {_BLINK} SamsungBrowser/25.0 Chrome/121.0.0.0"
_UA_GALAXY_TAB = f"Mozilla/5.0 (Linux; Android 14; SM-X710) {_BLINK}"
# breakpoint -> (browserName, weight, userAgent)
_BROWSERS = {
    "desktop": (
        ("Chrome", 64, _UA_WINDOWS),
        ("Edge", 13, _UA_WINDOWS + " Edg/126.0.0.0"),
        ("Safari", 12, f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} Safari/605.1.15"),
        ("Firefox", 11, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"),
    ),
    "mobile": (
        (
            "Mobile Safari",
            50,
            f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) {_WEBKIT} Mobile/15E148",
        ),
        ("Chrome", 36, _UA_PIXEL),
        ("Samsung Internet", 10, _UA_GALAXY + " Mobile Safari/537.36"),
        ("Firefox", 4, "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0"),
    ),
    "tablet": (
        ("Mobile Safari", 60, f"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) {_WEBKIT} Mobile/15E148"),
        ("Chrome", 30, _UA_GALAXY_TAB + " Chrome/126.0.0.0 Safari/537.36"),
        ("Samsung Internet", 10, _UA_GALAXY_TAB + " SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36"),
    ),
}
# country -> (weight, regions with weights); real ISO 3166-1 alpha-2 codes and region names.
_GEO: dict[str, tuple[int, tuple[tuple[str, int], ...]]] = {
    "US": (
        36,
        (
            ("California", 16),
            ("Texas", 10),
            ("New York", 10),
            ("Florida", 8),
            ("Washington", 6),
            ("Illinois", 5),
            ("Colorado", 5),
            ("Massachusetts", 4),
            ("Georgia", 4),
            ("Oregon", 4),
        ),
    ),
    "GB": (9, (("England", 84), ("Scotland", 9), ("Wales", 5), ("Northern Ireland", 2))),
    "DE": (
        8,
        (
            ("Bavaria", 20),
            ("North Rhine-Westphalia", 22),
            ("Berlin", 14),
            ("Baden-Wurttemberg", 16),
            ("Hamburg", 8),
            ("Hesse", 9),
        ),
    ),
    "CA": (6, (("Ontario", 40), ("Quebec", 22), ("British Columbia", 20), ("Alberta", 14))),
    "IN": (6, (("Maharashtra", 25), ("Karnataka", 22), ("Delhi", 20), ("Tamil Nadu", 15), ("Telangana", 12))),
    "FR": (
        5,
        (
            ("Ile-de-France", 35),
            ("Auvergne-Rhone-Alpes", 15),
            ("Occitanie", 10),
            ("Nouvelle-Aquitaine", 10),
            ("Provence-Alpes-Cote d'Azur", 10),
        ),
    ),
    "AU": (4, (("New South Wales", 35), ("Victoria", 30), ("Queensland", 20), ("Western Australia", 10))),
    "BR": (4, (("Sao Paulo", 40), ("Rio de Janeiro", 20), ("Minas Gerais", 12), ("Parana", 8))),
    "NL": (3, (("North Holland", 35), ("South Holland", 25), ("Utrecht", 15), ("North Brabant", 15))),
    "ES": (3, (("Madrid", 32), ("Catalonia", 30), ("Andalusia", 18), ("Valencian Community", 12))),
    "JP": (3, (("Tokyo", 45), ("Osaka", 20), ("Kanagawa", 18), ("Aichi", 10))),
    "MX": (3, (("Mexico City", 45), ("Jalisco", 20), ("Nuevo Leon", 18))),
    "IT": (3, (("Lombardy", 30), ("Lazio", 22), ("Campania", 12), ("Piedmont", 10))),
    "SE": (2, (("Stockholm", 50), ("Vastra Gotaland", 25), ("Skane", 15))),
    "PL": (2, (("Masovian", 35), ("Lesser Poland", 20), ("Silesian", 18))),
}
_NO_GEO_SHARE = 0.02
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class _Visitor:
    visitor_id: str
    breakpoint: str
    viewport: tuple[int, int]
    browser: str
    user_agent: str
    country: str | None
    region: str | None


def _random_id(rng: random.Random) -> str:
    """16 base62 characters, like the bundled tracker's ids."""
    return "".join(rng.choices(_ID_ALPHABET, k=16))


def _weighted(
    rng: random.Random, options: tuple[tuple[Any, ...], ...], weight_at: int = 1
) -> tuple[Any, ...]:
    return rng.choices(options, weights=[option[weight_at] for option in options])[0]


def _new_visitor(rng: random.Random) -> _Visitor:
    breakpoint = _weighted(rng, _DEVICE_SHARE)[0]
    width, height, _ = _weighted(rng, _VIEWPORTS[breakpoint], 2)
    browser, _, agent = _weighted(rng, _BROWSERS[breakpoint])
    country = region = None
    if rng.random() >= _NO_GEO_SHARE:
        country = rng.choices(list(_GEO), weights=[weight for weight, _ in _GEO.values()])[0]
        region = _weighted(rng, _GEO[country][1])[0]
    return _Visitor(_random_id(rng), breakpoint, (width, height), browser, agent, country, region)


# ---------------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
# Monday first: weekend traffic is lower.
_WEEKDAY_WEIGHTS = (1.0, 1.06, 1.05, 1.0, 0.92, 0.7, 0.76)
# UTC hours: a US-heavy audience peaks in the European evening and the American afternoon.
_HOUR_WEIGHTS = (
    3.2,
    2.8,
    2.3,
    1.8,
    1.3,
    1.0,
    1.1,
    1.6,
    2.2,
    2.7,
    3.0,
    3.2,
    3.5,
    4.0,
    4.6,
    5.0,
    5.2,
    5.3,
    5.2,
    5.0,
    4.8,
    4.5,
    4.1,
    3.6,
)
_HOUR_CUM = tuple(accumulate(_HOUR_WEIGHTS))


class _Clock:
    """Places sessions in the ``days`` UTC days ending at ``end`` with weekly and daily seasonality."""

    def __init__(self, days: int, end: datetime) -> None:
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        self.end_ms = (end - _EPOCH) // timedelta(milliseconds=1)
        last_day = self.end_ms - self.end_ms % _DAY_MS
        self.first_day = last_day - (days - 1) * _DAY_MS
        weights = []
        for day in range(days):
            start = self.first_day + day * _DAY_MS
            weekday = (start // _DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
            available = min(1.0, (self.end_ms - start) / _DAY_MS)
            weights.append(_WEEKDAY_WEIGHTS[weekday] * (1 + 0.3 * day / days) * available)
        self.cum = tuple(accumulate(weights))

    def place(self, rng: random.Random, duration_ms: int) -> int:
        """Start (epoch ms) for a session lasting ``duration_ms``, so that its last event is before end."""
        total = self.cum[-1]
        for _ in range(8):
            if total <= 0:
                break
            day = bisect_right(self.cum, rng.random() * total)
            hour = bisect_right(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
            start = self.first_day + day * _DAY_MS + hour * _HOUR_MS + rng.randrange(_HOUR_MS)
            if start + duration_ms < self.end_ms:
                return start
        # Late in the last day: end the session just before ``end`` (it may then begin on the day before).
        return self.end_ms - duration_ms - 1 - rng.randrange(60_000)


def _rfc3339(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


# ---------------------------------------------------------------------------------------------------
# Web events
# ---------------------------------------------------------------------------------------------------

_PAGES_PER_SESSION = (38, 22, 15, 11, 8, 6)  # weights for 1..6 pageviews
_RETURN_SHARE = 0.3
_DEAD_SHARE = 0.06  # of ordinary clicks: on dead-click magnets
_TEXT_SHARE = 0.03  # of ordinary clicks: on copy (text selection, not dead)
_BURST_SHARE = 0.45  # of clicks on a broken element: the start of a rage burst
_FUNNEL = {"product": ("/cart", 0.22), "cart": ("/checkout", 0.45), "pricing": ("/signup", 0.25)}
_UTM = (
    "utm_source=google&utm_medium=cpc&utm_campaign=spring_sale",
    "utm_source=newsletter&utm_medium=email&utm_campaign=trail_notes",
    "utm_source=instagram&utm_medium=social",
    "utm_source=facebook&utm_medium=paid_social&utm_campaign=retarget",
    "gclid=Cj0KCQjw",
)


@dataclass(frozen=True, slots=True)
class _Pool:
    """Click candidates of one kind, sorted by top, with cumulative weights for O(log n) picks."""

    elements: tuple[Element, ...]
    tops: tuple[int, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, elements: list[Element]) -> _Pool:
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


@dataclass(frozen=True, slots=True)
class _PageTables:
    layout: PageLayout
    live: _Pool
    dead: _Pool
    text: _Pool


@cache
def _tables(index: int, breakpoint: str) -> _PageTables:
    layout = _layout(index, breakpoint)
    pools: dict[str | None, list[Element]] = {"live": [], "dead": [], "text": []}
    for element in layout.elements:
        pool = ROLES[element.role][0]
        if pool is not None:
            pools[pool].append(element)
    return _PageTables(layout, _Pool.of(pools["live"]), _Pool.of(pools["dead"]), _Pool.of(pools["text"]))


@cache
def _traffic_cum() -> tuple[float, ...]:
    return tuple(accumulate(1 / rank**_ZIPF_EXPONENT for rank in range(1, len(_PAGES) + 1)))


_PATH_INDEX = {spec.path: index for index, spec in enumerate(_PAGES)}


def _next_page(rng: random.Random, current: int) -> int:
    funnel = _FUNNEL.get(_PAGES[current].kind)
    if funnel and rng.random() < funnel[1]:
        return _PATH_INDEX[funnel[0]]
    cum = _traffic_cum()
    return bisect_right(cum, rng.random() * cum[-1])


def _url(rng: random.Random, spec: _PageSpec, landing: bool) -> str:
    """An absolute URL of the page, with the variants real traffic has (all normalise to the pageKey)."""
    roll = rng.random()
    origin = (
        "https://Shop.Example.com"
        if roll < 0.01
        else "https://shop.example.com:443"
        if roll < 0.015
        else DEMO_ORIGIN
    )
    path = spec.path + "/" if spec.path != "/" and rng.random() < 0.05 else spec.path
    if landing and rng.random() < 0.3:
        path += "?" + rng.choice(_UTM)
    elif rng.random() < 0.03:
        path += "?ref=nav"
    if spec.kind in ("product", "docs") and rng.random() < 0.08:
        path += "#reviews" if spec.kind == "product" else "#section-2"
    return origin + path


def _reach_px(rng: random.Random, viewport_height: int, document_height: int) -> float:
    """Deepest document px seen: some never scroll, a few jump to the end, the rest decay with distance."""
    roll = rng.random()
    if roll < 0.16:
        return viewport_height
    if roll < 0.26:
        return document_height
    return min(document_height, viewport_height + rng.expovariate(1 / (1300 + 0.2 * document_height)))


def _point(rng: random.Random, element: Element, width: int) -> tuple[int, int]:
    """A click position: gaussian around the element's centre, clipped to the element."""
    left, right = element.left * width, element.right * width
    x = rng.gauss((left + right) / 2, max(1.0, (right - left) / 6))
    y = rng.gauss((element.top + element.bottom) / 2, max(1.0, (element.bottom - element.top) / 6))
    x = min(math.floor(right), max(math.ceil(left), round(x)))
    y = min(element.bottom, max(element.top, round(y)))
    return x, y


class _Pageview:
    """Events of one pageview; timestamps are session-relative ms until the session is placed in time."""

    def __init__(self, visitor: _Visitor, session_id: str, tables: _PageTables, url: str) -> None:
        width, height = visitor.viewport
        self.tables = tables
        self.width = width
        self.viewport_height = height
        self.events: list[dict[str, Any]] = []
        self.head = {"sessionId": session_id, "visitorId": visitor.visitor_id, "url": url}
        self.size = {
            "viewportWidth": width,
            "viewportHeight": height,
            "documentWidth": width,
            "documentHeight": tables.layout.height,
        }
        self.tail: dict[str, Any] = {}
        if visitor.country:
            self.tail = {"country": visitor.country, "region": visitor.region}
        self.tail |= {"browserName": visitor.browser, "userAgent": visitor.user_agent}

    def click(self, at: int, element: Element, x: int, y: int, dead: bool) -> None:
        self.events.append(
            {
                "eventId": None,
                "type": "click",
                "timestamp": at,
                **self.head,
                **self.size,
                "x": x,
                "y": y,
                "selector": element.selector,
                "dead": dead,
                "fixed": element.fixed,
                **self.tail,
            }
        )

    def scroll(self, at: int, depth: float) -> None:
        self.events.append(
            {
                "eventId": None,
                "type": "scroll",
                "timestamp": at,
                **self.head,
                **self.size,
                "depth": depth,
                **self.tail,
            }
        )


def _simulate_pageview(rng: random.Random, view: _Pageview, start: int) -> int:
    """Fills ``view`` with scroll and click events from ``start`` (ms); returns the pageview's end."""
    document_height = view.tables.layout.height
    reach = _reach_px(rng, view.viewport_height, document_height)
    dwell = min(600_000, 3000 + int(rng.lognormvariate(math.log(30_000), 0.8)))
    _add_scrolls(rng, view, start, dwell, reach, document_height)
    at = start + rng.randint(1500, 12_000)
    for _ in range(min(12, int(rng.expovariate(1 / 2.9)))):
        at = _add_click(rng, view, at, reach)
        at += 1200 + int(rng.lognormvariate(math.log(4000), 0.7))
    return max(at, start + dwell)


def _add_scrolls(
    rng: random.Random, view: _Pageview, start: int, dwell: int, reach: float, height: int
) -> None:
    fold = min(100.0, view.viewport_height * 100 / height)
    final = min(100.0, reach * 100 / height)
    steps = 1 if final - fold < 1 else rng.randint(1, 4)
    depths = sorted(rng.uniform(fold, final) for _ in range(steps - 1))
    times = sorted(start + rng.randint(300, dwell) for _ in range(steps))
    for at, depth in zip(times, [*depths, final], strict=True):
        view.scroll(at, round(depth, 1))


def _add_click(rng: random.Random, view: _Pageview, at: int, reach: float) -> int:
    """One click (or a rage burst on a broken element) at ``at``; returns the time of the last click."""
    tables, roll = view.tables, rng.random()
    element = None
    if roll < _DEAD_SHARE:
        element = tables.dead.pick(rng, reach)
    elif roll < _DEAD_SHARE + _TEXT_SHARE:
        element = tables.text.pick(rng, reach)
    element = element or tables.live.pick(rng, reach)
    if element is None:
        return at
    x, y = _point(rng, element, view.width)
    dead = element.broken or ROLES[element.role][0] == "dead"
    view.click(at, element, x, y, dead)
    if element.broken and rng.random() < _BURST_SHARE:
        for _ in range(rng.randint(2, 6)):  # 3-7 clicks in all
            at += rng.randint(120, 650)
            bx = min(
                math.floor(element.right * view.width),
                max(math.ceil(element.left * view.width), x + rng.randint(-4, 4)),
            )
            by = min(element.bottom, max(element.top, y + rng.randint(-4, 4)))
            view.click(at, element, bx, by, True)
    return at


def _simulate_session(rng: random.Random, visitor: _Visitor) -> list[dict[str, Any]]:
    session_id = _random_id(rng)
    cum = _traffic_cum()
    page = bisect_right(cum, rng.random() * cum[-1])
    events: list[dict[str, Any]] = []
    at = 0
    for number in range(rng.choices(range(1, 7), weights=_PAGES_PER_SESSION)[0]):
        spec = _PAGES[page]
        view = _Pageview(visitor, session_id, _tables(page, visitor.breakpoint), _url(rng, spec, number == 0))
        at = _simulate_pageview(rng, view, at) + rng.randint(800, 6000)
        events.extend(sorted(view.events, key=itemgetter("timestamp")))
        page = _next_page(rng, page)
    return events


def generate_web_events(*, events: int, days: int, seed: int, end: datetime) -> Iterator[dict[str, Any]]:
    """Yield exactly ``events`` WebEvent dicts (CONTRACT 3.1 JSON) for the demo site.

    Sessions are spread over the ``days`` UTC days ending at ``end`` (a naive ``end`` is taken as UTC),
    with weekly and daily seasonality; every timestamp is strictly before ``end``. The last session is
    cut short to hit the count exactly. Events come session by session, each session in time order,
    sessions in no time order. ``eventId`` is ``demo-{seed}-{n}`` (n = 0, 1, ...), so the same arguments
    give the same events and a smaller ``events`` gives a prefix of a larger one. About 2 s for
    200,000 events on one core.
    """
    if events < 0 or days < 1:
        raise ValueError("events must be >= 0 and days >= 1")
    rng = random.Random(f"heatmaps-demo-web:{seed}")
    clock = _Clock(days, end)
    visitors: list[_Visitor] = []
    produced = 0
    while produced < events:
        if visitors and rng.random() < _RETURN_SHARE:
            visitor = visitors[rng.randrange(len(visitors))]
        else:
            visitor = _new_visitor(rng)
            visitors.append(visitor)
        session = _simulate_session(rng, visitor)
        start = clock.place(rng, session[-1]["timestamp"])
        for event in session[: events - produced]:
            event["eventId"] = f"demo-{seed}-{produced}"
            event["timestamp"] = _rfc3339(start + event["timestamp"])
            produced += 1
            yield event


# ---------------------------------------------------------------------------------------------------
# Mobile app
# ---------------------------------------------------------------------------------------------------

_USERS = tuple(f"user-{n:03d}" for n in range(1, 31))
_USER_CUM = tuple(accumulate(1 / rank**0.9 for rank in range(1, len(_USERS) + 1)))
_CAMPAIGNS = (
    ("spring_sale", 20),
    ("push_winback", 12),
    ("email_weekly", 10),
    ("influencer_q2", 6),
    (None, 52),
)
_SCREEN_FLOW: dict[str, tuple[tuple[str | None, int], ...]] = {
    "home_feed": (("product_detail", 55), ("cart", 10), ("settings", 7), (None, 28)),
    "product_detail": (("cart", 35), ("home_feed", 35), (None, 30)),
    "cart": (("checkout", 50), ("home_feed", 20), (None, 30)),
    "checkout": (("home_feed", 15), (None, 85)),
    "settings": (("home_feed", 50), (None, 50)),
}
_SCROLL_SHARE = {"home_feed": 0.35, "product_detail": 0.25, "cart": 0.05, "checkout": 0.1, "settings": 0.1}


def _app_bar(flow: _Flow, title: str, *, back: bool) -> None:
    flow.add("toolbar", "band", "header", 0, 0, 390, 100)
    if back:
        flow.add("toolbar > back", "chip", "<", 8, 52, 44, 40, weight=3.0)
    flow.add("toolbar > title", "heading", title, 64 if back else 16, 56, 220, 32, weight=0.5)


def _build_home_feed(flow: _Flow) -> None:
    _app_bar(flow, "Trailmark", back=False)
    flow.add("toolbar > search", "chip", "?", 290, 52, 40, 40)
    flow.add("toolbar > notifications", "chip", "!", 338, 52, 40, 40)
    flow.add("search_field", "input", "Search gear", 16, 112, 358, 44, weight=3.0)
    for k, label in enumerate(("All", "Jackets", "Footwear", "Packs"), start=1):
        flow.add(f"category_chip_{k}", "chip", label, 16 + (k - 1) * 90, 172, 80, 36)
    for k in range(1, 3):
        y = 224 + (k - 1) * 276
        flow.add(f"feed_card_{k}", "band", "card", 16, y, 358, 260)
        flow.add(f"feed_card_{k} > image", "thumb", "", 16, y, 358, 180, weight=4.0)
        flow.add(f"feed_card_{k} > title", "link", _PRODUCTS[k][1], 28, y + 190, 280, 24)
        flow.add(f"feed_card_{k} > price", "label", _PRODUCTS[k][2], 28, y + 222, 80, 22)
        flow.add(f"feed_card_{k} > like", "chip", "+", 322, y + 198, 44, 44, weight=2.0)
    _tab_bar(flow)


def _tab_bar(flow: _Flow) -> None:
    flow.add("tab_bar", "band", "header", 0, 772, 390, 72)
    for k, label in enumerate(("Home", "Search", "Cart", "Profile"), start=1):
        flow.add(f"tab_bar > {label.lower()}", "chip", label, 8 + (k - 1) * 95.5, 780, 84, 52, weight=1.5)


def _build_product_detail(flow: _Flow) -> None:
    _app_bar(flow, "", back=True)
    flow.add("toolbar > share", "chip", "^", 338, 52, 40, 40)
    flow.add("gallery", "image", "", 0, 100, 390, 340, weight=4.0)
    flow.add("title", "heading", _PRODUCTS[0][1], 16, 456, 358, 32)
    flow.add("price", "heading", _PRODUCTS[0][2], 16, 496, 100, 28, weight=0.5)
    flow.add("rating", "link", "4.7 (212)", 130, 500, 120, 22)
    for k, size in enumerate(("S", "M", "L", "XL"), start=1):
        flow.add(f"size_{size}", "chip", size, 16 + (k - 1) * 72, 548, 60, 44, weight=2.5)
    flow.add("description", "text", "", 16, 612, 358, 120)
    flow.add("bottom_bar", "band", "header", 0, 756, 390, 88)
    flow.add("wishlist", "chip", "+", 16, 772, 56, 56, weight=1.5)
    flow.add("add_to_cart", "button", "Add to cart", 84, 772, 290, 56, weight=8.0)


def _build_cart_screen(flow: _Flow) -> None:
    _app_bar(flow, "Cart", back=True)
    for k in range(1, 4):
        y = 116 + (k - 1) * 112
        flow.add(f"item_{k}", "band", "card", 16, y, 358, 100)
        flow.add(f"item_{k} > image", "thumb", "", 24, y + 10, 80, 80, weight=1.0)
        flow.add(f"item_{k} > name", "link", _PRODUCTS[k * 3][1], 116, y + 12, 200, 22)
        flow.add(f"item_{k} > minus", "chip", "-", 116, y + 52, 36, 36, weight=2.0)
        flow.add(f"item_{k} > quantity", "label", "1", 162, y + 58, 20, 24)
        flow.add(f"item_{k} > plus", "chip", "+", 192, y + 52, 36, 36, weight=2.0)
        flow.add(f"item_{k} > remove", "chip", "x", 330, y + 10, 36, 36, weight=1.5)
    flow.add("promo_code", "input", "Promo code", 16, 470, 250, 48, weight=2.0)
    flow.add("apply_promo", "button2", "Apply", 276, 470, 98, 48, weight=2.0)
    flow.add("totals", "text", "", 16, 540, 358, 120)
    flow.add("checkout", "button", "Checkout", 16, 764, 358, 56, weight=9.0)


def _build_checkout_screen(flow: _Flow) -> None:
    _app_bar(flow, "Checkout", back=True)
    flow.add("shipping_label", "label", "Shipping", 16, 116, 200, 24)
    flow.add("name", "input", "Full name", 16, 152, 358, 48)
    flow.add("address", "input", "Address", 16, 212, 358, 48)
    flow.add("city", "input", "City", 16, 272, 171, 48)
    flow.add("postal_code", "input", "Postal code", 203, 272, 171, 48)
    flow.add("delivery_label", "label", "Delivery", 16, 340, 200, 24)
    flow.add("delivery_standard", "row", "Standard (free)", 16, 376, 358, 52)
    flow.add("delivery_express", "row", "Express ($15)", 16, 436, 358, 52)
    flow.add("payment_label", "label", "Payment", 16, 508, 200, 24)
    flow.add("wallet_pay", "button2", "Pay with wallet", 16, 544, 358, 52, weight=4.0)
    flow.add("card_number", "input", "Card number", 16, 608, 358, 48)
    flow.add("totals", "text", "", 16, 672, 358, 60)
    flow.add("place_order", "button", "Place order", 16, 764, 358, 56, weight=9.0)


def _build_settings(flow: _Flow) -> None:
    _app_bar(flow, "Settings", back=True)
    flow.add("profile", "row", "Alex Rivera", 16, 112, 358, 72, weight=2.0)
    rows = (
        "Notifications",
        "Dark mode",
        "Language",
        "Privacy",
        "Payment methods",
        "Addresses",
        "Help",
        "Log out",
    )
    for k, label in enumerate(rows, start=1):
        y = 200 + (k - 1) * 64
        flow.add(f"row_{label.lower().replace(' ', '_')}", "row", label, 16, y, 358, 56)
        if k <= 2:
            flow.add(f"toggle_{label.lower().replace(' ', '_')}", "chip", "", 306, y + 12, 56, 32, weight=2.5)
    _tab_bar(flow)


_SCREEN_BUILDERS: dict[str, Callable[[_Flow], None]] = {
    "home_feed": _build_home_feed,
    "product_detail": _build_product_detail,
    "cart": _build_cart_screen,
    "checkout": _build_checkout_screen,
    "settings": _build_settings,
}


@cache
def screen_layout(screen_name: str) -> tuple[Element, ...]:
    """Elements of a demo app screen, in px of a 390 x 844 phone screen (``left``/``right`` fractions)."""
    flow = _Flow("mobile", screen_name)
    _SCREEN_BUILDERS[screen_name](flow)
    return tuple(flow.items)


@cache
def _screen_pool(screen_name: str) -> _Pool:
    return _Pool.of([e for e in screen_layout(screen_name) if ROLES[e.role][0] in ("live", "dead")])


def _touch(rng: random.Random, screen: str) -> tuple[float, float, str]:
    """(x, y, eventType) of one touch on ``screen``, x and y as fractions of the screen in [0, 1]."""
    if rng.random() < _SCROLL_SHARE[screen]:
        x, y, kind = rng.gauss(0.55, 0.12), rng.uniform(0.25, 0.85), "SCROLL"
    else:
        element = _screen_pool(screen).pick(rng, SCREEN_SIZE[1])
        assert element is not None  # every screen has touch targets
        px, py = _point(rng, element, SCREEN_SIZE[0])
        x, y = px / SCREEN_SIZE[0], py / SCREEN_SIZE[1]
        kind = "ACTION_CLICK" if element.role == "button" else "TAP"
    return round(min(1.0, max(0.0, x)), 4), round(min(1.0, max(0.0, y)), 4), kind


def _simulate_visit(rng: random.Random) -> list[dict[str, Any]]:
    user = _USERS[bisect_right(_USER_CUM, rng.random() * _USER_CUM[-1])]
    campaign = _weighted(rng, _CAMPAIGNS)[0]
    screen: str | None = "home_feed"
    at, events = 0, []
    while screen is not None:
        for _ in range(rng.randint(1, 8)):
            x, y, kind = _touch(rng, screen)
            event: dict[str, Any] = {"eventId": None, "screenName": screen, "x": x, "y": y, "timestamp": at}
            if campaign:
                event["campaignId"] = campaign
            event |= {"eventType": kind, "userId": user}
            events.append(event)
            at += rng.randint(400, 6000)
        at += rng.randint(1000, 4000)
        screen = _weighted(rng, _SCREEN_FLOW[screen])[0]
    return events


def generate_touch_events(*, events: int, days: int, seed: int, end: datetime) -> Iterator[dict[str, Any]]:
    """Yield exactly ``events`` touch events of the demo app (CONTRACT 5 IngestTouchEvents JSON + ``userId``).

    30 users (``user-001`` ...) with skewed activity, 5 screens, campaigns on about half of the visits
    (``campaignId`` absent otherwise), types TAP / SCROLL / ACTION_CLICK; ``x``, ``y`` in [0, 1]. Time
    placement, determinism and ids (``demo-{seed}-touch-{n}``) work as in :func:`generate_web_events`.
    """
    if events < 0 or days < 1:
        raise ValueError("events must be >= 0 and days >= 1")
    rng = random.Random(f"heatmaps-demo-touch:{seed}")
    clock = _Clock(days, end)
    produced = 0
    while produced < events:
        visit = _simulate_visit(rng)
        start = clock.place(rng, visit[-1]["timestamp"])
        for event in visit[: events - produced]:
            event["eventId"] = f"demo-{seed}-touch-{produced}"
            event["timestamp"] = _rfc3339(start + event["timestamp"])
            produced += 1
            yield event


# ---------------------------------------------------------------------------------------------------
# Screenshots
# ---------------------------------------------------------------------------------------------------

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
    """PNG of a demo page at a breakpoint: ``SCREENSHOT_WIDTHS[breakpoint]`` wide, full document height.

    The drawing uses the layout the click generator uses, so a 1:1 overlay (x as a fraction of the width,
    y in document px) puts hotspots on the drawn elements. None for an unknown page or breakpoint.
    """
    layout = page_layout(page_key, breakpoint)
    if layout is None:
        return None
    return _render(layout.width, layout.height, layout.elements)


def render_screen_screenshot(screen_name: str) -> bytes:
    """PNG (390 x 844) of a demo app screen, drawn from the layout the touch generator uses."""
    if screen_name not in _SCREEN_BUILDERS:
        raise ValueError(f"unknown demo screen {screen_name!r}; known: {', '.join(SCREEN_NAMES)}")
    return _render(*SCREEN_SIZE, screen_layout(screen_name))


def demo_page_screenshots() -> Iterator[tuple[str, str, bytes]]:
    """(pageKey, breakpoint, PNG) for the most visited demo pages at every breakpoint."""
    for index in range(SCREENSHOT_PAGES):
        for breakpoint in BREAKPOINTS:
            layout = _layout(index, breakpoint)
            yield layout.page_key, breakpoint, _render(layout.width, layout.height, layout.elements)


def demo_screen_screenshots() -> Iterator[tuple[str, bytes]]:
    """(screen name, PNG) for every demo app screen."""
    for screen_name in SCREEN_NAMES:
        yield screen_name, render_screen_screenshot(screen_name)
