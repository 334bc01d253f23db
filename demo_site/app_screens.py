"""The demo app's five screens: elements in px of a 390 x 844 phone screen, read by taps and screenshots."""

from __future__ import annotations

from functools import cache

from demo_site.blocks import Frame, Put
from demo_site.catalog import PRODUCTS
from demo_site.layout import Element, Flow

SCREEN_SIZE = (390, 844)
SCREEN_NAMES = ("home_feed", "product_detail", "cart", "checkout", "settings")
_SCREEN = Frame(0, 0, *SCREEN_SIZE)


def _app_bar(title: str, *, back: bool = True) -> tuple[Put, ...]:
    return (
        Put("toolbar", "band", "header", w=390, h=100),
        *((Put("toolbar > back", "chip", "<", x=8, y=52, w=44, h=40, weight=3.0),) if back else ()),
        Put("toolbar > title", "heading", title, x=64 if back else 16, y=56, w=220, h=32, weight=0.5),
    )


_TAB_BAR = (
    Put("tab_bar", "band", "header", y=772, w=390, h=72),
    *(
        Put(f"tab_bar > {label.lower()}", "chip", label, x=8 + k * 95.5, y=780, w=84, h=52, weight=1.5)
        for k, label in enumerate(("Home", "Search", "Cart", "Profile"))
    ),
)


def _feed_card(k: int) -> tuple[Put, ...]:
    card, y, (_, name, price) = f"feed_card_{k}", 224 + (k - 1) * 276, PRODUCTS[k]
    return (
        Put(card, "band", "card", x=16, y=y, w=358, h=260),
        Put(f"{card} > image", "thumb", x=16, y=y, w=358, h=180, weight=4.0),
        Put(f"{card} > title", "link", name, x=28, y=y + 190, w=280, h=24),
        Put(f"{card} > price", "label", price, x=28, y=y + 222, w=80, h=22),
        Put(f"{card} > like", "chip", "+", x=322, y=y + 198, w=44, h=44, weight=2.0),
    )


def _cart_item(k: int) -> tuple[Put, ...]:
    item, y = f"item_{k}", 116 + (k - 1) * 112
    return (
        Put(item, "band", "card", x=16, y=y, w=358, h=100),
        Put(f"{item} > image", "thumb", x=24, y=y + 10, w=80, h=80, weight=1.0),
        Put(f"{item} > name", "link", PRODUCTS[k * 3].name, x=116, y=y + 12, w=200, h=22),
        Put(f"{item} > minus", "chip", "-", x=116, y=y + 52, w=36, h=36, weight=2.0),
        Put(f"{item} > quantity", "label", "1", x=162, y=y + 58, w=20, h=24),
        Put(f"{item} > plus", "chip", "+", x=192, y=y + 52, w=36, h=36, weight=2.0),
        Put(f"{item} > remove", "chip", "x", x=330, y=y + 10, w=36, h=36, weight=1.5),
    )


def _settings_row(k: int, label: str) -> tuple[Put, ...]:
    """A settings row; the first two are switched by a toggle."""
    name, y = label.lower().replace(" ", "_"), 200 + (k - 1) * 64
    row = Put(f"row_{name}", "row", label, x=16, y=y, w=358, h=56)
    if k > 2:
        return (row,)
    return row, Put(f"toggle_{name}", "chip", x=306, y=y + 12, w=56, h=32, weight=2.5)


_SETTINGS = (
    "Notifications",
    "Dark mode",
    "Language",
    "Privacy",
    "Payment methods",
    "Addresses",
    "Help",
    "Log out",
)

_SCREENS: dict[str, tuple[Put, ...]] = {
    "home_feed": (
        *_app_bar("Trailmark", back=False),
        Put("toolbar > search", "chip", "?", x=290, y=52, w=40, h=40),
        Put("toolbar > notifications", "chip", "!", x=338, y=52, w=40, h=40),
        Put("search_field", "input", "Search gear", x=16, y=112, w=358, h=44, weight=3.0),
        Put(
            "category_chip_{k}",
            "chip",
            ("All", "Jackets", "Footwear", "Packs"),
            x=16,
            y=172,
            w=80,
            h=36,
            repeat=4,
            step=(90, 0),
        ),
        *_feed_card(1),
        *_feed_card(2),
        *_TAB_BAR,
    ),
    "product_detail": (
        *_app_bar(""),
        Put("toolbar > share", "chip", "^", x=338, y=52, w=40, h=40),
        Put("gallery", "image", y=100, w=390, h=340, weight=4.0),
        Put("title", "heading", PRODUCTS[0].name, x=16, y=456, w=358, h=32),
        Put("price", "heading", PRODUCTS[0].price, x=16, y=496, w=100, h=28, weight=0.5),
        Put("rating", "link", "4.7 (212)", x=130, y=500, w=120, h=22),
        *(
            Put(f"size_{size}", "chip", size, x=16 + k * 72, y=548, w=60, h=44, weight=2.5)
            for k, size in enumerate(("S", "M", "L", "XL"))
        ),
        Put("description", "text", x=16, y=612, w=358, h=120),
        Put("bottom_bar", "band", "header", y=756, w=390, h=88),
        Put("wishlist", "chip", "+", x=16, y=772, w=56, h=56, weight=1.5),
        Put("add_to_cart", "button", "Add to cart", x=84, y=772, w=290, h=56, weight=8.0),
    ),
    "cart": (
        *_app_bar("Cart"),
        *(put for k in (1, 2, 3) for put in _cart_item(k)),
        Put("promo_code", "input", "Promo code", x=16, y=470, w=250, h=48, weight=2.0),
        Put("apply_promo", "button2", "Apply", x=276, y=470, w=98, h=48, weight=2.0),
        Put("totals", "text", x=16, y=540, w=358, h=120),
        Put("checkout", "button", "Checkout", x=16, y=764, w=358, h=56, weight=9.0),
    ),
    "checkout": (
        *_app_bar("Checkout"),
        Put("shipping_label", "label", "Shipping", x=16, y=116, w=200, h=24),
        Put("name", "input", "Full name", x=16, y=152, w=358, h=48),
        Put("address", "input", "Address", x=16, y=212, w=358, h=48),
        Put("city", "input", "City", x=16, y=272, w=171, h=48),
        Put("postal_code", "input", "Postal code", x=203, y=272, w=171, h=48),
        Put("delivery_label", "label", "Delivery", x=16, y=340, w=200, h=24),
        Put("delivery_standard", "row", "Standard (free)", x=16, y=376, w=358, h=52),
        Put("delivery_express", "row", "Express ($15)", x=16, y=436, w=358, h=52),
        Put("payment_label", "label", "Payment", x=16, y=508, w=200, h=24),
        Put("wallet_pay", "button2", "Pay with wallet", x=16, y=544, w=358, h=52, weight=4.0),
        Put("card_number", "input", "Card number", x=16, y=608, w=358, h=48),
        Put("totals", "text", x=16, y=672, w=358, h=60),
        Put("place_order", "button", "Place order", x=16, y=764, w=358, h=56, weight=9.0),
    ),
    "settings": (
        *_app_bar("Settings"),
        Put("profile", "row", "Alex Rivera", x=16, y=112, w=358, h=72, weight=2.0),
        *(put for k, label in enumerate(_SETTINGS, start=1) for put in _settings_row(k, label)),
        *_TAB_BAR,
    ),
}


@cache
def screen_layout(screen_name: str) -> tuple[Element, ...]:
    """Elements of a demo app screen, in px of a 390 x 844 phone screen (``left``/``right`` fractions)."""
    flow = Flow("mobile", screen_name)
    for put in _SCREENS[screen_name]:
        put.place(flow, _SCREEN)
    return tuple(flow.items)
