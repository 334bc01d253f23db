"""The shop's audience: devices, viewports, browsers and where visitors are, with realistic shares."""

from __future__ import annotations

import random
from dataclasses import dataclass

from demo_site.chance import weighted

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
class Visitor:
    """Someone who comes back with the same device, browser and location."""

    visitor_id: str
    breakpoint: str
    viewport: tuple[int, int]
    browser: str
    user_agent: str
    country: str | None
    region: str | None


def random_id(rng: random.Random) -> str:
    """16 base62 characters, like the bundled tracker's ids."""
    return "".join(rng.choices(_ID_ALPHABET, k=16))


def new_visitor(rng: random.Random) -> Visitor:
    breakpoint = weighted(rng, _DEVICE_SHARE)[0]
    width, height, _ = weighted(rng, _VIEWPORTS[breakpoint], 2)
    browser, _, agent = weighted(rng, _BROWSERS[breakpoint])
    country = region = None
    if rng.random() >= _NO_GEO_SHARE:
        country = rng.choices(list(_GEO), weights=[weight for weight, _ in _GEO.values()])[0]
        region = weighted(rng, _GEO[country][1])[0]
    return Visitor(random_id(rng), breakpoint, (width, height), browser, agent, country, region)
