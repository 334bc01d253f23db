"""A tiny shop with segments and page widths of its own, for the dashboard's segment and group tests.

Its counts, worked out by hand (all on 2026-04-10, desktop):

| session | visitor | segment                                                   | page           | clicks |
| ------- | ------- | --------------------------------------------------------- | -------------- | ------ |
| s1      | v1 new  | google / cpc / spring, from www.google.com, variant:A     | /products/tent | 4      |
| s2      | v2 new  | newsletter / email, variant:B                             | /products/boot | 2      |
| s3      | v1 ret. | none                                                      | /cart          | 1      |

So the pages list has 7 clicks; utmSource=google leaves 4, tag=variant:B 2, visitorType=returning 1.
The group ``https://shop.example/products/*`` has 6 clicks on 2 pages, /products/tent the busiest; the
two product pages are 1000 and 1400 px wide.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from data_layer.filters import Window
from tests.factories import web_click

DAY = date(2026, 4, 10)
WINDOW = Window(date(2026, 3, 12), DAY)  # the dashboard's default: 30 days ending at the newest day
ORIGIN = "https://shop.example"
PRODUCTS = f"{ORIGIN}/products/*"
TENT, BOOT, CART = f"{ORIGIN}/products/tent", f"{ORIGIN}/products/boot", f"{ORIGIN}/cart"
GOOGLE = {
    "utmSource": "google",
    "utmMedium": "cpc",
    "utmCampaign": "spring",
    "referrerHost": "www.google.com",
    "tags": {"variant": "A"},
}
NEWSLETTER = {"utmSource": "newsletter", "utmMedium": "email", "tags": {"variant": "B"}}


def events() -> list[dict[str, Any]]:
    """The shop's WebEvents (the table above)."""
    tent = {"url": TENT, "documentWidth": 1000, "documentHeight": 2400, "sessionId": "s1", "visitorId": "v1"}
    boot = {"url": BOOT, "documentWidth": 1400, "documentHeight": 3000, "sessionId": "s2", "visitorId": "v2"}
    return [
        *(
            web_click(**tent, **GOOGLE, timestamp=f"2026-04-10T09:00:0{n}Z", x=100 + 200 * n, y=300)
            for n in range(4)
        ),
        *(
            web_click(**boot, **NEWSLETTER, timestamp=f"2026-04-10T10:00:0{n}Z", x=700, y=500 + 100 * n)
            for n in range(2)
        ),
        web_click(url=CART, sessionId="s3", visitorId="v1", timestamp="2026-04-10T11:00:00Z"),
    ]
