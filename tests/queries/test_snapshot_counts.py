"""The pages list as of a cursor's snapshot while sessions get later clicks (CONTRACT 4.1), on SQLite and
PostgreSQL, from SQL and from the replica: a late click completing a rage run changes the stored flags
of clicks inside the snapshot; the snapshot's counts keep the flags those clicks had then, and only the
sessions clicked since are read event by event."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from data_layer.filters import WebFilters, Window
from data_layer.ingest import ingest_web_batch
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.store import SqlStore
from tests.factories import web_click

DAY = Window(date(2026, 4, 10), date(2026, 4, 10))
A, B = "https://example.com/a", "https://example.com/b"


class CountingStore:
    """A store whose ``web_events`` answers are counted: how many events a read took event by event."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.rows_read: list[int] = []

    def web_events(self, *args: Any, **options: Any) -> pl.DataFrame:
        frame = self.store.web_events(*args, **options)
        self.rows_read.append(frame.height)
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def click(url: str, session: str, second: float, **fields: Any) -> dict[str, Any]:
    return web_click(url=url, sessionId=session, timestamp=f"2026-04-10T12:00:{second:06.3f}Z", **fields)


def rows(pages: pl.DataFrame) -> dict[str, tuple[int, int, int]]:
    """pageKey -> (clicks, rage events, dead clicks)."""
    picked = pages.select("page_key", "total_clicks", "rage_clicks", "dead_clicks")
    return {key: (clicks, rage, dead) for key, clicks, rage, dead in picked.iter_rows()}


@pytest.mark.parametrize("kind", ["sql", "replica"])
def test_counts_as_of_a_snapshot_keep_the_flags_of_then(engine, settings, kind: str) -> None:
    before = [
        click(A, "S", 0.0, country="US"),
        click(A, "S", 0.3, country="US"),  # two fast clicks: no rage run yet
        click(A, "U", 5.0, country="DE"),
        click(A, "D", 9.0, country="DE", dead=True),
        click(B, "T", 1.0, country="US"),
    ]
    ingest_web_batch(engine, settings, before)
    store = CountingStore(SqlStore(engine) if kind == "sql" else ReplicaStore(engine, None))
    service = HeatmapService(store, settings, b"k")  # type: ignore[arg-type]
    mark = store.last_seq()
    after = [
        click(A, "S", 0.6, country="US"),  # the third: a rage run, flagged on S's first click too
        click(B, "T", 30.0, country="US"),  # a late session whose flags do not change
        click(B, "N", 2.0, country="US"),  # a new session
    ]
    ingest_web_batch(engine, settings, after)

    def listed(filters: WebFilters = WebFilters(), as_of_seq: int | None = mark) -> dict[str, Any]:
        return rows(service.ranked_pages(DAY, filters, None, "CLICKS", True, as_of_seq=as_of_seq))

    assert listed(as_of_seq=None) == {A: (5, 1, 1), B: (3, 0, 0)}, "stored flags: the run is complete"
    store.rows_read.clear()
    assert listed() == {A: (4, 0, 1), B: (1, 0, 0)}, "as of the snapshot: no rage run yet"
    assert store.rows_read == [3], "only the snapshot's clicks of S and T were read, not the window's"
    assert listed(WebFilters(country="us")) == {A: (2, 0, 0), B: (1, 0, 0)}
    assert listed(WebFilters(country="de")) == {A: (2, 0, 1)}
    assert listed(as_of_seq=mark + len(after)) == listed(as_of_seq=None), "nothing came later"
