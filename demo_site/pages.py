"""The shop's page layouts: one tuple of blocks per kind of page, laid out by :func:`layout`.

Each kind's tuple reads top to bottom like the page; the larger parts of a page are named above it.
"""

from __future__ import annotations

import math
from functools import cache

from data_layer import breakpoints
from data_layer.urls import InvalidUrlError, normalize_page_key
from demo_site.blocks import (
    Aspect,
    Block,
    By,
    Card,
    Column,
    Fields,
    Gap,
    Grid,
    Of,
    Panel,
    Paragraphs,
    Put,
    Rows,
    Sections,
    Split,
    place_all,
)
from demo_site.catalog import BLOG_POSTS, PAGES, PRICES, PRODUCTS, Page, page_key_of
from demo_site.layout import Flow, PageLayout
from demo_site.parts import (
    TESTIMONIALS,
    Breadcrumb,
    Footer,
    Header,
    Hero,
    Products,
    Promo,
    features,
    post_cards,
    questions,
    section_title,
)

_HEADER = Header()
_FOOTER = Footer()
_NOT_DESKTOP = ("tablet", "mobile")
_SUMMARY_INNER = Of(1, -48)  # the checkout summary's content: 24 px in from both sides
_MAIN_HEADING = Panel(120, Put("main > h1", "heading", "{title}", y=40, w=360, h=48))


def _pagination(pages: int, *, x: Of, height: float, weight: float | None = None) -> Panel:
    return Panel(
        height,
        Put(
            "nav.pagination > a:nth-of-type({k})",
            "chip",
            "{k}",
            x=x,
            w=44,
            h=44,
            weight=weight,
            repeat=pages,
            step=(52, 0),
        ),
    )


_HOME = (
    _HEADER,
    Hero(
        "Technical outerwear, packs and camp kit, tested on real trails.",
        cta=("#shop-now-cta", "Shop the collection"),
        secondary=("section.hero > a.btn-secondary", "Watch the film"),
    ),
    section_title("#categories > h2", "Shop by category"),
    Grid(
        "#categories > a.category-tile:nth-of-type({k})",
        4,
        Put("", "thumb", ("Jackets", "Footwear", "Backpacks", "Camping"), weight=3.0),
        cols=By(4, 2, 2),
        height=By(220, 200, 160),
        gap=By(24, 24, 16),
    ),
    section_title("#featured > h2", "Best sellers"),
    Products("#featured > div.product-card", 8),
    Promo("Join Trailmark Plus, get 10% off", ("#signup-cta", "Join for free")),
    *TESTIMONIALS,
    section_title("#journal > h2", "From the journal"),
    post_cards(3),
    _FOOTER,
)

_FILTERS = ("Waterproof", "Insulated", "Ultralight", "Recycled", "Women", "Men", "Kids", "On sale")
_LISTING_TOOLS = Panel(
    76,
    Put("#sort-by", "select", "Sort: Featured", x=Of(1, By(-220, -220, -170)), w=By(220, 220, 170), h=44),
    Put("button.filter-toggle", "button2", "Filters", w=160, h=44, weight=3.0, on=_NOT_DESKTOP),
    # The desktop filter column, beside the product grid below.
    Put(
        "aside.filters > label:nth-of-type({k})",
        "chip",
        _FILTERS,
        y=76,
        w=220,
        h=32,
        weight=1.0,
        repeat=len(_FILTERS),
        step=(0, 44),
        on=("desktop",),
    ),
)


def _listing(count: int) -> tuple[Block, ...]:
    """All gear or one category: ``count`` products, with a filter column on desktops."""
    return (
        _HEADER,
        Breadcrumb(("Home", "{title}")),
        Panel(72, Put("main > h1", "heading", "{title}", w=Of(0.6), h=48)),
        _LISTING_TOOLS,
        Products("#product-grid > div.product-card", count, by_path=True, sidebar=True),
        Gap(40),
        _pagination(4, x=Of(0.5, -100), weight=1.2, height=60),
        _FOOTER,
    )


_PLANS = ("Trail", "Summit", "Expedition")
_PRICING_CARDS = Grid(
    "div.pricing-card:nth-of-type({k})",
    3,
    Put("", "band", "card"),
    Put(" > span.badge", "card", "Most popular", x=Of(1, -150), y=20, w=130, h=28, weight=1.0, only=(2,)),
    Put(" > h3.plan-name", "heading", _PLANS, x=28, y=32, w=Of(1, -190), h=36),
    Put(" > p.plan-price", "heading", ("$0", "$9/mo", "$19/mo"), x=28, y=84, w=Of(1, -56), h=48),
    Put(" > ul.features", "text", x=28, y=156, w=Of(1, -56), h=Of(1, -260)),
    Put(
        " > button.btn-primary",
        "button",
        tuple(f"Choose {plan}" for plan in _PLANS),
        x=28,
        y=Of(1, -84),
        w=Of(1, -56),
        h=52,
        weight=(5.0, 9.0, 5.0),
    ),
    cols=By(3, 3, 1),
    height=By(520, 560, 480),
)
_PRICING = (
    _HEADER,
    Hero("Free shipping, member prices and repairs for life. Cancel any time.", image=False),
    # Inside the hero. The billing toggle is broken on phones only: a breakpoint-specific bug.
    Panel(
        48,
        Put(
            "#billing-toggle",
            "chip",
            "Monthly | Yearly",
            x=Of(0.5, -120),
            y=-84,
            w=240,
            h=44,
            weight=3.0,
            broken=By(False, False, True),
        ),
    ),
    _PRICING_CARDS,
    section_title("#compare > h2", "Compare plans"),
    Rows("table.compare > tbody > tr:nth-of-type({k})", 8, 48, Put("", "text", h=40)),
    Panel(40, Put("#compare > a.compare-toggle", "link", "Show all features", y=8, w=180, h=24)),
    *questions("#pricing-faq", 6),
    Promo("Try Plus free for 30 days", ("#signup-cta", "Start free trial")),
    _FOOTER,
)

_ARROW_Y = Of(0.5, -24)  # the gallery's arrows are centred on the photo
_PRODUCT_GALLERY = (
    Panel(
        Aspect(By(0.86, 0.86, 1.0)),
        Put("#product-gallery > img.product-photo", "image", weight=4.0),
        Put("#product-gallery > button.carousel-prev", "chip", "<", x=12, y=_ARROW_Y, w=48, h=48, weight=1.0),
        # A template bug: the next arrow does nothing, on every product page.
        Put(
            "#product-gallery > button.carousel-next",
            "chip",
            ">",
            x=Of(1, -60),
            y=_ARROW_Y,
            w=48,
            h=48,
            weight=1.3,
            broken=True,
        ),
        after=16,
    ),
    Grid(
        "#product-gallery > div.thumbs > img:nth-of-type({k})",
        4,
        Put("", "thumb", weight=1.0),
        cols=4,
        height=Aspect(1, most=110),
        gap=12,
    ),
)
_PRODUCT_INFO = Panel(
    662,
    Put("#product-info > h1.product-title", "heading", "{title}", h=88),
    Put("#product-info > span.product-price", "heading", "{price}", y=100, w=120, h=36, weight=0.8),
    Put("#product-info > a.rating-link", "link", "4.7 (212 reviews)", y=148, w=180, h=22),
    Put("#product-info > p.summary", "text", y=190, h=84),
    Put("#size-picker", "select", "Choose a size", y=296, h=48, weight=4.0),
    Put(
        "#product-info > div.swatches > button:nth-of-type({k})",
        "chip",
        y=364,
        w=40,
        h=40,
        weight=1.2,
        repeat=4,
        step=(52, 0),
    ),
    Put("#add-to-cart", "button", "Add to cart", y=428, h=56, weight=10.0),
    Put("#product-info > button.wishlist", "button2", "Save to wishlist", y=500, h=48),
    Put("#product-info > a.size-guide", "link", "Size guide", y=568, w=120, h=22),
    Put("#product-info > p.shipping-note", "text", y=606, h=56),
)
_PRODUCT = (
    _HEADER,
    Breadcrumb(("Home", "Shop", "{title}")),
    Split(
        _PRODUCT_GALLERY,
        (_PRODUCT_INFO,),
        share=By(0.56, 0.52, 1.0),
        gap=By(56, 32, 0),
        stack_gap=32,
        after=48,
    ),
    section_title("#details > h2", "Details"),
    Column(Paragraphs("#details > p", 3), max_width=760),
    section_title("#reviews > h2", "Reviews"),
    Column(
        Paragraphs("#reviews > div.review", 4, words=(30, 90), extra=40),
        Panel(48, Put("#reviews > button.load-more-reviews", "button2", "Load more reviews", w=220, h=48)),
        max_width=760,
    ),
    section_title("#related > h2", "You might also like"),
    Products("#related > div.product-card", 4, offset=3, by_path=True),
    _FOOTER,
)

_IN_CART = PRODUCTS[3:12:3]
_CART_ITEMS = Rows(
    "div.cart-item:nth-of-type({k})",
    3,
    152,
    Put("", "band", "card", h=136),
    Put(" > img", "thumb", x=16, y=16, w=104, h=104, weight=1.0),
    Put(
        " > a.item-name",
        "link",
        tuple(product.name for product in _IN_CART),
        x=136,
        y=20,
        w=Of(1, -260),
        h=24,
    ),
    Put(" > input.qty", "input", "1", x=136, y=64, w=72, h=40, weight=2.0),
    Put(" > button.remove-item", "link", "Remove", x=224, y=72, w=80, h=22, weight=1.2),
    Put(
        " > span.line-total",
        "label",
        tuple(product.price for product in _IN_CART),
        x=Of(1, -100),
        y=20,
        w=84,
        h=24,
    ),
)
_CART_SUMMARY = Card(
    "aside.order-summary",
    320,
    Put("aside.order-summary > h2", "heading", "Summary", y=24, h=32),
    Put("aside.order-summary > dl.totals", "text", y=76, h=100),
    Put("#checkout-btn", "button", "Checkout", y=200, h=56, weight=12.0),
    Put("aside.order-summary > a.continue-shopping", "link", "Continue shopping", y=276, w=200, h=22),
    padding=24,
)
_CART = (
    _HEADER,
    _MAIN_HEADING,
    Split((_CART_ITEMS,), (_CART_SUMMARY,), share=0.62, gap=32, stack_gap=16, after=24),
    section_title("#recommended > h2", "Complete your kit"),
    Products("#recommended > div.product-card", 4, offset=5),
    _FOOTER,
)


def _form_heading(number: int, text: str) -> Panel:
    return Panel(60, Put(f"#checkout-form > h2:nth-of-type({number})", "label", text, y=16, h=28))


def _input(name: str, label: str) -> Put:
    return Put(f"#checkout-form > input[name={name}]", "input", label)


_CHECKOUT_FORM = (
    _form_heading(1, "Contact"),
    Fields(_input("email", "Email")),
    _form_heading(2, "Shipping address"),
    Fields(_input("first-name", "First name"), _input("last-name", "Last name")),
    Fields(_input("address", "Address")),
    Fields(_input("city", "City"), _input("postal-code", "Postal code")),
    Fields(Put("#checkout-form > select[name=country]", "select", "Country")),
    _form_heading(3, "Payment"),
    Fields(_input("card-number", "Card number")),
    Fields(_input("expiry", "MM / YY"), _input("cvc", "CVC")),
    Rows(
        "#checkout-form > label.shipping-option:nth-of-type({k})",
        2,
        64,
        Put("", "row", ("Standard (free)", "Express ($15)"), h=56),
    ),
)
_CHECKOUT_SUMMARY = Panel(
    470,
    Put("aside.order-summary", "band", "card"),
    Put("aside.order-summary > ul.items", "text", x=24, y=24, w=_SUMMARY_INNER, h=150),
    Put("#coupon-code", "input", "Coupon code", x=24, y=200, w=Of(0.6, -24), h=48, weight=2.0),
    # The coupon button never answers: the checkout's rage-click magnet.
    Put(
        "#apply-coupon",
        "button2",
        "Apply",
        x=Of(0.6, 8),
        y=200,
        w=Of(0.4, -32),
        h=48,
        weight=3.0,
        broken=True,
    ),
    Put("aside.order-summary > dl.totals", "text", x=24, y=272, w=_SUMMARY_INNER, h=110),
    Put("aside.order-summary > img.payment-badges", "image", x=24, y=400, w=_SUMMARY_INNER, h=44, weight=1.5),
)
_CHECKOUT = (
    Header(minimal=True),
    _MAIN_HEADING,
    Split(
        _CHECKOUT_FORM,
        (_CHECKOUT_SUMMARY,),
        # On phones the order button comes after the summary, a little further down.
        main_end=(
            Panel(
                By(72, 72, 88),
                Put("#place-order", "button", "Place order", y=By(16, 16, 32), h=56, weight=10.0),
            ),
        ),
        share=0.58,
        gap=40,
        stack_gap=16,
        after=48,
    ),
    features("#assurances > div.assurance", ("Secure payment", "Free returns", "Repairs for life")),
    _FOOTER,
)

_SIGNUP_FORM = Card(
    "#signup-form",
    560,
    Put("#signup-form > h2", "heading", "Create your account", y=32, h=36),
    Put("#signup-form > button.google-signin", "button2", "Continue with Google", y=96, h=52, weight=5.0),
    Put("#signup-form > input[name=name]", "input", "Full name", y=184, h=48),
    Put("#signup-form > input[name=email]", "input", "Email", y=248, h=48),
    Put("#signup-form > input[name=password]", "input", "Password", y=312, h=48),
    Put("#signup-form > label.terms", "chip", "I accept the terms", y=376, h=32, weight=1.5),
    Put("#signup-submit", "button", "Create account", y=432, h=52, weight=9.0),
    Put("#signup-form > a.login-link", "link", "Already a member? Sign in", y=504, h=22),
    padding=32,
)
_SIGNUP_PITCH = (
    Panel(272, Put("main > h1", "heading", "{title}", h=96), Put("main > p.lead", "text", y=120, h=112)),
    Grid(
        "div.customer-logos > img:nth-of-type({k})",
        5,
        Put("", "image", weight=0.8),
        cols=5,
        height=48,
        gap=16,
    ),
)
_SIGNUP = (
    _HEADER,
    Gap(56),
    Split(
        (_SIGNUP_FORM,),
        _SIGNUP_PITCH,
        share=0.42,
        main_right=True,
        aside_share=0.5,
        stack_gap=40,
        after=64,
    ),
    features("#benefits > div.benefit", ("Member prices", "Free shipping", "Repairs for life")),
    *TESTIMONIALS,
    _FOOTER,
)

_LOGIN_FORM = Card(
    "#login-form",
    500,
    Put("#login-form > h1", "heading", "{title}", y=32, h=40),
    Put("#login-form > button.google-signin", "button2", "Continue with Google", y=100, h=52, weight=4.0),
    Put("#login-form > input[name=email]", "input", "Email", y=188, h=48),
    Put("#login-form > input[name=password]", "input", "Password", y=252, h=48),
    Put("#login-submit", "button", "Sign in", y=324, h=52, weight=9.0),
    Put("#login-form > a.forgot-password", "link", "Forgot password?", y=396, w=180, h=22, weight=2.0),
    Put("#login-form > a.signup-link", "link", "New here? Join Trailmark", y=440, w=240, h=22, weight=2.0),
    padding=32,
    after=48,
)
_LOGIN = (
    _HEADER,
    Column(Gap(80), _LOGIN_FORM, max_width=440, centre=True),
    features("#benefits > div.benefit", ("Order history", "Saved gear", "Faster checkout")),
    _FOOTER,
)

_DOC_TOPICS = (
    *("Orders", "Shipping and returns", "Size guide", "Warranty", "Repairs"),
    *("Payments", "Membership", "Account", "Gift cards", "Contact"),
)
_DOCS_NAVIGATION = Panel(
    By(40, 112, 112),
    Put(
        "aside.docs-nav > a:nth-of-type({k})",
        "link",
        _DOC_TOPICS,
        y=40,
        w=220,
        h=24,
        weight=1.5,
        repeat=len(_DOC_TOPICS),
        step=(0, 40),
        on=("desktop",),
    ),
    Put(
        "aside.docs-nav > button.docs-menu",
        "button2",
        "Browse topics",
        y=40,
        h=48,
        weight=3.0,
        on=_NOT_DESKTOP,
    ),
)
_DOCS_ARTICLE = (
    Panel(80, Put("#docs-search", "input", "Search help articles", h=48, weight=3.0)),
    Panel(80, Put("article.doc > h1", "heading", "{title}", h=48)),
    Sections(
        Panel(56, Put("article.doc > h2:nth-of-type({k})", "heading", "Section {k}", w=Of(0.7), h=36)),
        "article.doc > p",
        2,
        Panel(120, Put("article.doc > div.callout:nth-of-type({k})", "card", h=96, weight=1.0)),
        insert_after="odd",
    ),
    Panel(
        76,
        Put("#feedback > button.feedback-yes", "button2", "Yes, helpful", w=150, h=44),
        Put("#feedback > button.feedback-no", "button2", "Not really", x=166, w=150, h=44),
    ),
    Panel(24, Put("article.doc > a.next-page", "link", "Next article", w=160, h=24, weight=2.0)),
)
_DOCS = (
    _HEADER,
    _DOCS_NAVIGATION,
    # Beside the topics on desktops (and at least as long as they are), below the menu elsewhere.
    Column(*_DOCS_ARTICLE, max_width=760, indent=By(280, 0, 0), min_height=By(440, 0, 0)),
    _FOOTER,
)

_FEATURED_POST = (
    Gap(24),
    Panel(
        262,
        Put("#featured-post > h2 > a", "link", BLOG_POSTS[0].title, h=96, weight=4.0),
        Put("#featured-post > p.excerpt", "text", y=112, h=112),
        Put("#featured-post > a.read-more", "link", "Read the story", y=240, w=160, h=22, weight=3.0),
    ),
)
_BLOG_INDEX = (
    _HEADER,
    Panel(
        208,
        Put("main > h1", "heading", "{title}", y=48, w=Of(0.7), h=56),
        Put("main > p.lead", "text", y=120, w=Of(0.6), h=56),
    ),
    Split(
        (Panel(Aspect(0.56), Put("#featured-post > img.post-cover", "thumb", weight=3.0)),),
        _FEATURED_POST,
        share=0.58,
        gap=40,
        stack_gap=0,
        after=64,
    ),
    post_cards(6),
    Gap(40),
    _pagination(3, x=Of(0.5, -78), height=44),
    Promo("Trail notes in your inbox", ("#newsletter-cta", "Subscribe")),
    _FOOTER,
)


def _article(*blocks: Block) -> Column:
    """The reading column of a journal post, centred."""
    return Column(*blocks, max_width=By(720, 640, 358), centre=True)


_POST_FIGURE = (
    Panel(Aspect(0.6), Put("article.post > figure:nth-of-type({k}) > img", "image", weight=2.5), after=16),
    Panel(
        56, Put("article.post > figure:nth-of-type({k}) > figcaption", "label", "Photo: Trailmark team", h=22)
    ),
)
_POST_SHARING = Panel(
    72,
    Put(
        "div.share > button:nth-of-type({k})",
        "chip",
        ("Share", "Copy link", "Email"),
        w=104,
        h=40,
        weight=1.0,
        repeat=3,
        step=(116, 0),
    ),
)
_BLOG_POST = (
    _HEADER,
    _article(
        Panel(
            By(216, 216, 228),
            Put("article.post > a.back-to-journal", "link", "Journal", y=32, w=100, h=22, weight=1.0),
            Put("article.post > h1.post-title", "heading", "{title}", y=72, h=By(120, 120, 132)),
        ),
        Panel(
            48,
            Put("article.post > a.author-link", "link", "By Sam Okafor", w=160, h=22, weight=1.0),
            Put("article.post > time", "label", "8 min read", x=180, w=120, h=22),
        ),
    ),
    # The cover is 240 px wider than the article (the whole column on phones).
    Column(
        Panel(Aspect(0.5), Put("article.post > img.post-cover", "image", weight=4.0), after=48),
        max_width=By(960, 880, 598),
        centre=True,
    ),
    _article(
        Sections(
            Panel(64, Put("article.post > h2:nth-of-type({k})", "heading", "Part {k}", h=40)),
            "article.post > p",
            (2, 3),
            *_POST_FIGURE,
            insert_after="even",
        ),
        _POST_SHARING,
    ),
    section_title("#related > h2", "Keep reading"),
    post_cards(3),
    section_title("#comments > h2", "Comments"),
    _article(
        Rows("#comments > div.comment:nth-of-type({k})", 3, 108, Put("", "text", h=84)),
        Panel(
            184,
            Put("#comment-body", "input", "Add a comment", h=120, weight=1.5),
            Put("#post-comment", "button", "Post comment", y=136, w=180, h=48, weight=2.0),
        ),
    ),
    _FOOTER,
)

_ABOUT = (
    _HEADER,
    Hero(
        "Founded by three guides in 2012. Still designing every piece in Boulder.",
        cta=("#careers-cta", "See open roles"),
    ),
    Gap(64),
    Column(Paragraphs("#story > p", 4), max_width=720, centre=True),
    section_title("#values > h2", "What we stand for"),
    features("#values > div.value", ("Built to last", "Fairly made", "Repair first")),
    section_title("#team > h2", "The team"),
    Grid(
        "#team > div.member:nth-of-type({k})",
        8,
        Put(" > img", "image", h=Of(1, -64), weight=1.5),
        Put(" > h3", "heading", "Team member {k}", y=Of(1, -52), h=24),
        cols=By(4, 4, 2),
        height=By(340, 260, 240),
        gap=By(24, 16, 16),
    ),
    _FOOTER,
)

_CONTACT_FORM = Panel(
    492,
    Put("#contact-form > input[name=name]", "input", "Your name", h=52),
    Put("#contact-form > input[name=email]", "input", "Email", y=72, h=52),
    Put("#contact-form > select[name=topic]", "select", "Topic", y=144, h=52),
    Put("#contact-form > textarea[name=message]", "input", "How can we help?", y=216, h=200, weight=3.0),
    Put("#contact-send", "button", "Send message", y=440, w=200, h=52, weight=8.0),
)
_CONTACT_INFO = Panel(
    500,
    Put("aside.contact-info > p", "text", h=112),
    Put(
        "aside.contact-info > a.support-email",
        "link",
        "help@shop.example.com",
        y=132,
        w=240,
        h=22,
        weight=2.0,
    ),
    Put("aside.contact-info > img.store-map", "image", y=180, h=320, weight=4.0),
)
_CONTACT = (
    _HEADER,
    Panel(144, Put("main > h1", "heading", "{title}", y=48, w=Of(0.6), h=56)),
    Split((_CONTACT_FORM,), (_CONTACT_INFO,), share=0.56, gap=48, stack_gap=48, after=48),
    *questions("#contact-faq", 5),
    _FOOTER,
)

_FAQ = (
    _HEADER,
    Panel(
        212,
        Put("main > h1", "heading", "{title}", y=48, w=Of(0.8), h=56),
        Put("#faq-search", "input", "Search questions", y=128, w=Of(1, most=560), h=52, weight=4.0),
    ),
    Panel(
        72,
        Put(
            "div.faq-topics > button:nth-of-type({k})",
            "chip",
            ("Orders", "Shipping", "Returns", "Membership"),
            w=By(124, 118, 80),
            h=40,
            repeat=4,
            step=(By(140, 130, 88), 0),
        ),
    ),
    Rows(
        "#faq > details:nth-of-type({k}) > summary", 14, 72, Put("", "row", "Question {k}", h=60, weight=2.0)
    ),
    Promo("Still need help?", ("#contact-support", "Contact support")),
    _FOOTER,
)

_KINDS: dict[str, tuple[Block, ...]] = {
    "home": _HOME,
    "listing": _listing(16),
    "category": _listing(12),
    "pricing": _PRICING,
    "product": _PRODUCT,
    "cart": _CART,
    "checkout": _CHECKOUT,
    "signup": _SIGNUP,
    "login": _LOGIN,
    "docs": _DOCS,
    "blog_index": _BLOG_INDEX,
    "blog_post": _BLOG_POST,
    "about": _ABOUT,
    "contact": _CONTACT,
    "faq": _FAQ,
}


def _labels(page: Page) -> dict[str, str]:
    """What ``{title}`` and, on a product page, ``{price}`` stand for in the page's labels."""
    price = PRICES.get(page.path)
    return {"title": page.title} | ({"price": price} if price else {})


@cache
def layout(index: int, breakpoint: str) -> PageLayout:
    """The layout of ``PAGES[index]`` at ``breakpoint``."""
    page = PAGES[index]
    flow = Flow(breakpoint, page.path, _labels(page))
    place_all(flow, _KINDS[page.kind])
    return PageLayout(
        page_key=page_key_of(page.path),
        path=page.path,
        title=page.title,
        breakpoint=breakpoint,
        width=flow.width,
        height=math.ceil(flow.y),
        elements=tuple(flow.items),
    )


_PAGE_INDEX = {page_key_of(page.path): index for index, page in enumerate(PAGES)}


def page_layout(page_key: str, breakpoint: str) -> PageLayout | None:
    """The layout of a demo page (any URL of it; normalised as in CONTRACT 3.2) or None if unknown."""
    try:
        key = normalize_page_key(page_key)
    except InvalidUrlError:
        return None
    index = _PAGE_INDEX.get(key)
    if index is None or breakpoint not in breakpoints.NAMES:
        return None
    return layout(index, breakpoint)
