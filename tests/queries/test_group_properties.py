"""Properties of page groups (CONTRACT 14) over the service: a group of one page is that page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from data_layer import metrics, page_groups, page_reads
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import GroupRef, PagePattern, PageRef
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.store import WEB_EVENT_SCHEMA

PAGES = ("https://example.com/a", "https://example.com/ab", "https://example.com/b/c")
WINDOW = Window(date(2026, 4, 1), date(2026, 4, 30))


class PagesStore(page_reads.FromEvents):
    """A store over a fixed frame: enough of the interface for summaries and group totals."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def page_exists(self, page_key: str) -> bool:
        return page_key in self.frame.get_column("page_key").to_list()

    def page_keys(self) -> pl.Series:
        return self.frame.get_column("page_key").unique()

    def page_events(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, columns: Sequence[str]
    ) -> pl.LazyFrame:
        return self.frame.lazy().filter(pl.col("page_key").is_in(list(page_keys))).select(columns)

    def web_events(self, from_day: date, to_day: date, filters: WebFilters, **options: Any) -> pl.DataFrame:
        return self.frame.select(options["columns"])

    def click_counts(self, from_day: date, to_day: date, filters: WebFilters, **options: Any) -> pl.DataFrame:
        return metrics.click_counts(self.frame).collect()


event = st.fixed_dictionaries(
    {
        "page": st.sampled_from(PAGES),
        "session": st.sampled_from(["s1", "s2", "s3"]),
        "click": st.booleans(),
        "x": st.integers(0, 1280),
        "y": st.integers(0, 3000),
        "dead": st.booleans(),
        "rage": st.booleans(),
        "depth": st.integers(0, 100),
        "viewport": st.sampled_from([400, 900, 1280]),
        "seconds": st.integers(0, 10_000),
    }
)


def frame_of(events: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [
        {
            "seq": seq,
            "event_type": "click" if e["click"] else "scroll",
            "ts": datetime(2026, 4, 10) + timedelta(seconds=e["seconds"]),
            "day": date(2026, 4, 10),
            "page_key": e["page"],
            "breakpoint": "desktop"
            if e["viewport"] >= 1024
            else "tablet"
            if e["viewport"] >= 768
            else "mobile",
            "session_id": e["session"],
            "visitor_id": "v-" + e["session"],
            "viewport_width": e["viewport"],
            "viewport_height": 700,
            "document_width": 1280,
            "document_height": 3000,
            "x": float(e["x"]) if e["click"] else None,
            "y": float(e["y"]) if e["click"] else None,
            "dead": e["click"] and e["dead"],
            "depth": None if e["click"] else float(e["depth"]),
            "rage": e["click"] and e["rage"],
            "rage_start": e["click"] and e["rage"],
        }
        for seq, e in enumerate(events, 1)
    ]
    return pl.DataFrame(rows, schema=WEB_EVENT_SCHEMA)


def assert_same_summary(one: Any, other: Any) -> None:
    for name, value in asdict(one).items():
        if isinstance(value, pl.DataFrame):
            assert_frame_equal(value, getattr(other, name))
        else:
            assert value == getattr(other, name), name


@settings(max_examples=60)
@given(events=st.lists(event, min_size=1, max_size=40), breakpoint=st.sampled_from(["desktop", "mobile"]))
def test_a_group_of_one_page_is_that_pages_summary_and_entry(
    events: list[dict[str, Any]], breakpoint: str
) -> None:
    frame = frame_of(events)
    service = HeatmapService(PagesStore(frame), Settings(_env_file=None), b"k")
    page = frame.get_column("page_key").first()
    alone = service.page_summary(PageRef(page, breakpoint), WINDOW)
    grouped = service.page_summary(GroupRef(PagePattern(page), breakpoint), WINDOW)
    assert grouped.pages == 1
    assert_same_summary(replace(grouped, pages=None), alone)

    groups = pl.DataFrame({"id": ["g"], "name": ["one"], "pattern": [page]})
    totals = page_groups.group_totals(groups, metrics.click_counts(frame).collect())
    entries = metrics.page_list(frame).filter(pl.col("page_key") == page)
    if entries.is_empty():
        assert totals.row(0, named=True)["total_clicks"] == 0
    else:
        entry = entries.row(0, named=True)
        total = totals.row(0, named=True)
        assert {k: v for k, v in total.items() if k not in ("id", "name", "pattern", "pages")} == {
            k: v for k, v in entry.items() if k != "page_key"
        }
        assert total["pages"] == 1


@settings(max_examples=40)
@given(events=st.lists(event, min_size=1, max_size=40))
def test_a_group_adds_up_to_the_sum_of_its_pages(events: list[dict[str, Any]]) -> None:
    frame = frame_of(events)
    groups = pl.DataFrame({"id": ["g"], "name": ["all"], "pattern": ["https://example.com/*"]})
    total = page_groups.group_totals(groups, metrics.click_counts(frame).collect()).row(0, named=True)
    pages = metrics.page_list(frame)
    assert total["pages"] == pages.height
    for column in ("total_clicks", "rage_clicks", "dead_clicks"):
        assert total[column] == pages.get_column(column).sum()
