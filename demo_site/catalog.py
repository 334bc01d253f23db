"""The demo shop, Trailmark Outfitters: its products and its 40 pages, most visited first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

DEMO_ORIGIN = "https://shop.example.com"


class Product(NamedTuple):
    slug: str
    name: str
    price: str


PRODUCTS = (
    Product("alpine-shell-jacket", "Alpine Shell Jacket", "$249"),
    Product("ridge-runner-trail-shoes", "Ridge Runner Trail Shoes", "$139"),
    Product("summit-35l-backpack", "Summit 35L Backpack", "$189"),
    Product("featherlight-down-vest", "Featherlight Down Vest", "$159"),
    Product("basecamp-2-person-tent", "Basecamp 2-Person Tent", "$329"),
    Product("merino-crew-socks", "Merino Crew Socks", "$24"),
    Product("trekking-poles-carbon", "Carbon Trekking Poles", "$119"),
    Product("insulated-water-bottle", "Insulated Bottle 750 ml", "$34"),
    Product("headlamp-400", "Headlamp 400", "$49"),
    Product("rain-pants", "Storm Rain Pants", "$99"),
    Product("camp-stove-mini", "Mini Camp Stove", "$59"),
    Product("sun-hoodie", "Sun Hoodie UPF 50", "$69"),
    Product("kids-rain-jacket", "Kids' Rain Jacket", "$79"),
    Product("gift-card", "Trailmark Gift Card", "$25+"),
)
PRICES = {f"/products/{product.slug}": product.price for product in PRODUCTS}


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the shop; ``kind`` names its block list in :mod:`demo_site.pages`."""

    path: str
    kind: str
    title: str


# In traffic order: the first page gets the most visits (Zipf weights by rank).
PAGES = (
    Page("/", "home", "Gear for every trail"),
    Page("/products", "listing", "All gear"),
    Page("/pricing", "pricing", "Trailmark Plus membership"),
    Page("/category/jackets", "category", "Jackets"),
    Page("/products/alpine-shell-jacket", "product", "Alpine Shell Jacket"),
    Page("/cart", "cart", "Your cart"),
    Page("/category/footwear", "category", "Footwear"),
    Page("/products/ridge-runner-trail-shoes", "product", "Ridge Runner Trail Shoes"),
    Page("/checkout", "checkout", "Checkout"),
    Page("/signup", "signup", "Join Trailmark"),
    Page("/blog", "blog_index", "The Trailmark Journal"),
    Page("/products/summit-35l-backpack", "product", "Summit 35L Backpack"),
    Page("/category/backpacks", "category", "Backpacks"),
    Page("/products/featherlight-down-vest", "product", "Featherlight Down Vest"),
    Page("/login", "login", "Sign in"),
    Page("/category/camping", "category", "Camping"),
    Page("/products/basecamp-2-person-tent", "product", "Basecamp 2-Person Tent"),
    Page("/blog/how-to-layer-for-winter-hikes", "blog_post", "How to layer for winter hikes"),
    Page("/products/merino-crew-socks", "product", "Merino Crew Socks"),
    Page("/category/sale", "category", "Sale"),
    Page("/products/trekking-poles-carbon", "product", "Carbon Trekking Poles"),
    Page("/docs", "docs", "Help center"),
    Page("/products/insulated-water-bottle", "product", "Insulated Bottle 750 ml"),
    Page("/blog/choosing-your-first-tent", "blog_post", "Choosing your first tent"),
    Page("/faq", "faq", "Frequently asked questions"),
    Page("/products/headlamp-400", "product", "Headlamp 400"),
    Page("/about", "about", "About Trailmark"),
    Page("/blog/trail-running-gear-checklist", "blog_post", "Trail running gear checklist"),
    Page("/products/rain-pants", "product", "Storm Rain Pants"),
    Page("/docs/shipping-and-returns", "docs", "Shipping and returns"),
    Page("/products/camp-stove-mini", "product", "Mini Camp Stove"),
    Page("/contact", "contact", "Contact us"),
    Page("/blog/caring-for-down-jackets", "blog_post", "Caring for down jackets"),
    Page("/products/sun-hoodie", "product", "Sun Hoodie UPF 50"),
    Page("/docs/size-guide", "docs", "Size guide"),
    Page("/blog/ultralight-packing-list", "blog_post", "The ultralight packing list"),
    Page("/products/kids-rain-jacket", "product", "Kids' Rain Jacket"),
    Page("/blog/behind-the-seams", "blog_post", "Behind the seams: how we test"),
    Page("/docs/warranty", "docs", "Lifetime warranty"),
    Page("/products/gift-card", "product", "Trailmark Gift Card"),
)
BLOG_POSTS = tuple(page for page in PAGES if page.kind == "blog_post")


def page_key_of(path: str) -> str:
    return DEMO_ORIGIN + path


def demo_page_keys() -> list[str]:
    """Normalised pageKeys of the demo site, most visited first."""
    return [page_key_of(page.path) for page in PAGES]
