"""Service-layer properties, over an in-memory store (no database): pagination and sorting."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from api.web_json import page_list_body
from data_layer import metrics
from data_layer.filters import WebFilters, Window
from data_layer.rage import INPUT_COLUMNS as RAGE_INPUT_COLUMNS
from data_layer.service import SORT_COLUMNS, HeatmapService, PageListing, parse_limit, parse_sort
from data_layer.settings import Settings
from data_layer.store import WEB_EVENT_SCHEMA


class FrameStore:
    """A store over a fixed frame of clicks: enough of SqlStore's interface for the pages list."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def last_seq(self) -> int:
        return self.frame.height

    def click_counts(
        self, from_day: date, to_day: date, filters: WebFilters | None = None, **options: Any
    ) -> pl.DataFrame:
        return metrics.click_counts(self.web_events(from_day, to_day, filters, **options)).collect()

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame:
        """Nothing arrives after a snapshot of a fixed frame."""
        return self.frame.filter(pl.lit(False)).select(RAGE_INPUT_COLUMNS)

    def web_events(
        self, from_day: date, to_day: date, filters: WebFilters | None = None, **options: Any
    ) -> pl.DataFrame:
        frame = self.frame
        if options.get("as_of_seq") is not None:
            frame = frame.filter(pl.col("seq") <= options["as_of_seq"])
        return frame.select(options["columns"]) if options.get("columns") else frame


def clicks_frame(pages: list[tuple[int, int, int]]) -> pl.DataFrame:
    """(clicks, dead, rage events) per page -> click rows; rage events are single flagged clicks."""
    rows = []
    for index, (clicks, dead, rage) in enumerate(pages):
        for n in range(clicks):
            rows.append({
                "seq": len(rows) + 1, "event_type": "click", "ts": datetime(2026, 4, 1),
                "day": date(2026, 4, 1),
                "page_key": f"https://example.com/{index:03d}", "breakpoint": "desktop", "session_id": "s",
                "visitor_id": "v", "viewport_width": 1280, "viewport_height": 800, "document_width": 1280,
                "document_height": 2000, "x": 1.0, "y": 1.0, "selector": None, "dead": n < dead,
                "fixed": False, "depth": None, "country": None, "region": None, "browser": None,
                "rage": n < rage, "rage_start": n < rage,
            })  # fmt: skip
    return pl.DataFrame(rows, schema=WEB_EVENT_SCHEMA)


DAY = Window(date(2026, 4, 1), date(2026, 4, 1))


def entities(listing: PageListing) -> list[dict[str, Any]]:
    """The page list as the API answers it (the camelCase shape the assertions below name)."""
    return page_list_body(listing)["entities"]


page_specs = st.lists(
    st.integers(1, 12).flatmap(lambda c: st.tuples(st.just(c), st.integers(0, c), st.integers(0, c))),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60)
@given(
    pages=page_specs,
    limits=st.lists(st.integers(-3, 120), min_size=1, max_size=5),
    sort_by=st.sampled_from(list(SORT_COLUMNS)),
    sort_dir=st.sampled_from(["ASC", "DESC", "asc", "desc"]),
)
def test_walking_all_pages_yields_each_exactly_once_in_order(
    pages: list[tuple[int, int, int]], limits: list[int], sort_by: str, sort_dir: str
) -> None:
    service = HeatmapService(FrameStore(clicks_frame(pages)), Settings(_env_file=None), b"k")
    query = {"window": DAY, "sort": parse_sort(sort_by, sort_dir)}
    everything = entities(service.list_pages(limit=100, **query)) if len(pages) <= 100 else None
    seen: list[dict[str, Any]] = []
    cursor = None
    for step in range(200):
        body = page_list_body(
            service.list_pages(limit=parse_limit(limits[step % len(limits)]), cursor=cursor, **query)
        )
        seen += body["entities"]
        cursor = body["pagination"]["nextCursor"]
        if not body["pagination"]["hasMore"]:
            break
    assert sorted(e["pageKey"] for e in seen) == sorted(
        f"https://example.com/{i:03d}" for i in range(len(pages))
    )
    assert seen == everything
    key = {
        "CLICKS": "totalClicks",
        "RAGE_CLICKS": "rageClicks",
        "DEAD_CLICKS": "deadClicks",
        "RAGE_RATE": "rageRate",
        "DEAD_RATE": "deadRate",
        "ISSUE_SCORE": "issueScore",
        "PAGE_KEY": "pageKey",
    }
    values = [(e[key[sort_by]], e["pageKey"]) for e in seen]  # fmt: skip
    descending = sort_dir.upper() == "DESC"
    if sort_by == "PAGE_KEY":
        assert values == sorted(values, reverse=descending)
    else:
        assert [v for v, _ in values] == sorted((v for v, _ in values), reverse=descending)
        for (a, ka), (b, kb) in pairwise(values):
            assert a != b or ka < kb, "ties are broken by pageKey ascending"


@settings(max_examples=60)
@given(pages=page_specs)
def test_totals_and_invariants(pages: list[tuple[int, int, int]]) -> None:
    service = HeatmapService(FrameStore(clicks_frame(pages)), Settings(_env_file=None), b"k")
    listed = entities(service.list_pages(DAY, limit=100))
    assert sum(e["totalClicks"] for e in listed) == sum(c for c, _, _ in pages)
    for entity in listed:
        assert 0 <= entity["rageRate"] <= 1 and 0 <= entity["deadRate"] <= 1
        assert 0 <= entity["issueScore"] <= 100
        assert sum(b["clicks"] for b in entity["breakpoints"]) == entity["totalClicks"]
