"""The shop's recurring parts: the header, hero, promo banner, footer, breadcrumb and product grid (whose
shape changes by breakpoint or product, so they are code), and the blocks several pages share."""

from __future__ import annotations

from dataclasses import dataclass

from demo_site.blocks import Block, By, Grid, Of, Panel, Put, Rows, grid_frames
from demo_site.catalog import BLOG_POSTS, PRODUCTS
from demo_site.layout import Flow

_HEADER_HEIGHTS = {"desktop": 72, "tablet": 64, "mobile": 56}


@dataclass(frozen=True, slots=True)
class Header:
    """The sticky site header; ``minimal`` (checkout) has only the logo and a way back to the cart."""

    minimal: bool = False

    def place(self, flow: Flow, k: int = 1) -> None:
        h, m, w = _HEADER_HEIGHTS[flow.breakpoint], flow.margin, flow.width
        mid = h / 2
        flow.add("#site-header", "band", "header", 0, 0, w, h, fixed=True)
        if flow.breakpoint == "mobile" and not self.minimal:
            flow.add(
                "#site-header > button.menu-toggle", "chip", "=", m, mid - 20, 40, 40, weight=2.0, fixed=True
            )
            flow.add("#site-header > a.logo", "logo", "Trailmark", m + 56, mid - 14, 120, 28, fixed=True)
            flow.add(
                "#site-header > button.search-toggle", "chip", "?", w - 100, mid - 20, 40, 40, fixed=True
            )
        else:
            flow.add("#site-header > a.logo", "logo", "Trailmark", m, mid - 14, 140, 28, fixed=True)
        if self.minimal:
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
        labels = flow.pick(
            ("Shop", "Pricing", "Journal", "Help", "About"), ("Shop", "Pricing", "Journal"), ()
        )
        for n, label in enumerate(labels, start=1):
            flow.add(
                f"nav.top-nav > a:nth-of-type({n})",
                "nav",
                label,
                m + 220 + (n - 1) * 96,
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


@dataclass(frozen=True, slots=True)
class Hero:
    """The page's title over a tinted band, with calls to action and a picture beside it (below on phones)."""

    subtitle: str
    cta: tuple[str, str] | None = None
    secondary: tuple[str, str] | None = None
    image: bool = True

    def place(self, flow: Flow, k: int = 1) -> None:
        m, cw, top = flow.margin, flow.content_width, flow.y
        mobile = flow.breakpoint == "mobile"
        height = flow.pick(560, 520, 760 if self.image else 460)
        flow.add("section.hero", "band", "hero", 0, top, flow.width, height)
        text_w = cw if mobile else cw * flow.pick(0.5, 0.55, 1.0)
        y = top + flow.pick(110, 90, 48)
        title_h = flow.pick(112, 96, 84)
        flow.add("section.hero > h1.hero-title", "heading", flow.labels["title"], m, y, text_w, title_h)
        y += title_h + 24
        sub_h = flow.pick(60, 60, 84)
        flow.add("section.hero > p.hero-subtitle", "text", self.subtitle, m, y, text_w, sub_h)
        y += sub_h + 36
        button_w = cw if mobile else flow.pick(230, 210, 0)
        if self.cta:
            flow.add(self.cta[0], "button", self.cta[1], m, y, button_w, 52, weight=9.0)
        if self.secondary:
            sx, sy = (m, y + 64) if mobile else (m + button_w + 16, y)
            flow.add(self.secondary[0], "button2", self.secondary[1], sx, sy, cw if mobile else 190, 52)
            y = sy
        if self.image and mobile:
            flow.add(
                "section.hero > img.hero-image", "image", "", m, y + 92, cw, top + height - 40 - (y + 92)
            )
        elif self.image:
            flow.add(
                "section.hero > img.hero-image", "image", "", m + cw * 0.58, top + 60, cw * 0.42, height - 120
            )
        flow.y = top + height


@dataclass(frozen=True, slots=True)
class Promo:
    """A full-width banner with one call to action, 64 px below the row."""

    heading: str
    cta: tuple[str, str]

    def place(self, flow: Flow, k: int = 1) -> None:
        top, m, cw = flow.y + 64, flow.margin, flow.content_width
        height = flow.pick(300, 320, 400)
        flow.add("section.promo-banner", "band", "promo", 0, top, flow.width, height)
        flow.add(
            "section.promo-banner > h2",
            "heading",
            self.heading,
            m,
            top + 60,
            cw * flow.pick(0.6, 0.8, 1.0),
            48,
        )
        flow.add("section.promo-banner > p", "text", "", m, top + 124, cw * flow.pick(0.5, 0.7, 1.0), 56)
        button_w = cw if flow.breakpoint == "mobile" else 240
        flow.add(
            self.cta[0],
            "button",
            self.cta[1],
            m,
            top + height - flow.pick(92, 92, 100),
            button_w,
            52,
            weight=8.0,
        )
        flow.y = top + height


_FOOTER_COLUMNS = (
    ("Shop", "New arrivals", "Best sellers", "Sale", "Gift cards"),
    ("Help", "Shipping", "Returns", "Size guide", "Contact"),
    ("Company", "About", "Journal", "Careers", "Press"),
)


@dataclass(frozen=True, slots=True)
class Footer:
    """Link columns (two by two on phones), the newsletter form and the copyright, 64 px below the row."""

    def place(self, flow: Flow, k: int = 1) -> None:
        top, m, cw = flow.y + 64, flow.margin, flow.content_width
        mobile = flow.breakpoint == "mobile"
        height = flow.pick(380, 420, 820)
        flow.add("#site-footer", "band", "footer", 0, top, flow.width, height)
        col_w = flow.pick(200, 180, cw / 2)
        for c, (heading, *links) in enumerate(_FOOTER_COLUMNS, start=1):
            row, col = divmod(c - 1, 2) if mobile else (0, c - 1)
            x, y = m + col * col_w, top + 56 + row * 220
            column = f"#site-footer > div.footer-col:nth-of-type({c})"
            flow.add(f"{column} > h4", "flabel", heading, x, y, col_w - 24, 24)
            for n, link in enumerate(links, start=1):
                flow.add(
                    f"{column} > a:nth-of-type({n})", "flink", link, x, y + 40 + (n - 1) * 34, col_w - 24, 22
                )
        nx, ny = (m, top + 500) if mobile else (m + flow.pick(680, 560, 0), top + 56)
        nw = cw if mobile else cw - (nx - m)
        flow.add("#site-footer > div.newsletter > h4", "flabel", "Trail notes, monthly", nx, ny, nw, 24)
        flow.add("#newsletter-email", "input", "you@example.com", nx, ny + 44, nw * 0.62, 48)
        flow.add(
            "#newsletter-submit", "button", "Subscribe", nx + nw * 0.66, ny + 44, nw * 0.34, 48, weight=2.0
        )
        flow.add(
            "#site-footer > p.copyright", "flabel", "(c) Trailmark Outfitters", m, top + height - 56, 260, 22
        )
        flow.y = top + height


@dataclass(frozen=True, slots=True)
class Breadcrumb:
    """Links as wide as their labels (``{title}`` is the page's), 56 px of row."""

    labels: tuple[str, ...]

    def place(self, flow: Flow, k: int = 1) -> None:
        x = flow.margin
        for n, template in enumerate(self.labels, start=1):
            label = template.format(**flow.labels)
            width = min(8.5 * len(label) + 8, flow.margin + flow.content_width - x)
            flow.add(
                f"nav.breadcrumb > a:nth-of-type({n})", "link", label, x, flow.y + 20, width, 20, weight=0.6
            )
            x += width + 24
        flow.y += 56


@dataclass(frozen=True, slots=True)
class Products:
    """A grid of ``count`` product cards from the catalogue, starting after its ``offset``-th product (plus
    the page path's length with ``by_path``, so product pages differ); every seventh product is sold out.
    ``sidebar`` leaves room for the desktop filter column."""

    base: str
    count: int
    offset: int = 0
    by_path: bool = False
    sidebar: bool = False

    def place(self, flow: Flow, k: int = 1) -> None:
        index = self.offset + (len(flow.path) if self.by_path else 0)
        cols = flow.pick(3 if self.sidebar else 4, 2, 2)
        x0 = flow.margin + (280 if self.sidebar and flow.breakpoint == "desktop" else 0)
        width = flow.content_width - (x0 - flow.margin)
        frames = grid_frames(
            flow, self.count, cols, flow.pick(420, 460, 330), flow.pick(24, 24, 16), left=x0, width=width
        )
        for n, (x, y, w, h) in enumerate(frames, start=1):
            _, name, price = PRODUCTS[(index + n) % len(PRODUCTS)]
            card = f"{self.base}:nth-of-type({n})"
            sold_out = (index + n) % 7 == 5
            image_h = h * 0.6
            flow.add(card, "band", "card", x, y, w, h)
            flow.add(f"{card} > img.product-photo", "image" if sold_out else "thumb", "", x, y, w, image_h)
            flow.add(
                f"{card} > h3.card-title", "link", name, x + 12, y + image_h + 12, w - 24, 44, weight=1.2
            )
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


def section_title(selector: str, text: str) -> Panel:
    """A section's heading, 120 px of row."""
    return Panel(120, Put(selector, "heading", text, y=56, w=Of(0.6), h=40, weight=0.8))


def features(base: str, titles: tuple[str, ...]) -> Grid:
    """Icon, title and copy per item, one row (one column on phones)."""
    count = len(titles)
    return Grid(
        f"{base}:nth-of-type({{k}})",
        count,
        Put(" > img.feature-icon", "image", w=56, h=56, weight=1.0),
        Put(" > h3", "heading", titles, y=72, h=32),
        Put(" > p", "text", y=112, h=Of(1, -112)),
        cols=By(count, count, 1),
        height=By(200, 230, 190),
        gap=32,
    )


TESTIMONIALS: tuple[Block, ...] = (
    section_title("#testimonials > h2", "Loved on the trail"),
    Grid(
        "#testimonials > div.testimonial:nth-of-type({k})",
        3,
        Put("", "card", weight=0.8),
        Put(" > p", "text", x=24, y=24, w=Of(1, -48), h=Of(1, -96)),
        Put(" > span.author", "label", ("Maya R.", "Jonas K.", "Priya S."), x=24, y=Of(1, -52), w=160, h=24),
        cols=By(3, 3, 1),
        height=By(220, 260, 190),
    ),
)


def post_cards(count: int) -> Grid:
    """Cards of the journal's posts, in catalogue order."""
    return Grid(
        "div.post-card:nth-of-type({k})",
        count,
        Put("", "band", "card"),
        Put(" > img.post-cover", "thumb", h=Of(0.5), weight=1.5),
        Put(
            " > h3 > a",
            "link",
            tuple(post.title for post in BLOG_POSTS),
            x=16,
            y=Of(0.5, 16),
            w=Of(1, -32),
            h=56,
            weight=2.0,
        ),
        Put(" > p.excerpt", "text", x=16, y=Of(0.5, 84), w=Of(1, -32), h=Of(0.5, -140)),
        Put(" > a.read-more", "link", "Read more", x=16, y=Of(1, -44), w=110, h=22, weight=2.0),
        cols=By(3, 2, 1),
        height=By(400, 420, 400),
    )


def questions(base: str, count: int) -> tuple[Block, ...]:
    """A "Questions" section of ``count`` collapsed answers."""
    return (
        section_title(f"{base} > h2", "Questions"),
        Rows(
            f"{base} > details:nth-of-type({{k}}) > summary",
            count,
            64,
            Put("", "row", "Question {k}", h=56, weight=2.0),
        ),
    )
