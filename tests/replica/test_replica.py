"""The columnar replica answers exactly like straightforward SQL reads, through refreshes, late events,
compactions, erasure and restarts (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.web_json import page_list_body, summary_text
from data_layer import breakpoints, explore, metrics, scroll_only
from data_layer.filters import WebFilters, Window, parse_filters
from data_layer.ingest import ingest_web_batch
from data_layer.page_ref import GroupRef, PagePattern, PageRef
from data_layer.replica import ReplicaStore, catchup, runs
from data_layer.retention import forget_visitor
from data_layer.service import HeatmapService, parse_sort
from data_layer.store import SqlStore
from heatmaps_testing.dataset import generate
from tests.factories import web_click

END = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = Window(date(2026, 10, 20), date(2026, 10, 31))
SCATTERED = "https://bench.example.com/p/****"


def load(engine, settings, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 500):
        ingest_web_batch(engine, settings, events[start : start + 500])


def answers(service: HeatmapService) -> dict[str, Any]:
    """Every kind of answer, as the API would send it: all sorts, filters, and summaries of several pages
    and breakpoints."""

    def listed(filters: WebFilters = WebFilters(), **options: Any) -> list[dict[str, Any]]:
        return page_list_body(service.list_pages(WINDOW, filters, limit=100, **options))["entities"]

    result: dict[str, Any] = {}
    for sort in ("CLICKS", "RAGE_CLICKS", "DEAD_RATE", "ISSUE_SCORE", "PAGE_KEY"):
        result[sort] = listed(sort=parse_sort(sort, None))
    result["us"] = listed(WebFilters(country="us"))
    result["chrome-region"] = listed(WebFilters(browser="CHROME", region="us-north"))
    result["search"] = listed(search="/p/1")
    result["pattern"] = listed(pattern=PagePattern("https://bench.example.com/p/1*"))
    result["segments"] = listed(parse_filters(utm_source="GOOGLE", tags=["variant:b"]))
    result["returning"] = listed(parse_filters(visitor_type="returning", referrer_host="www.site3.example"))
    result["returning us"] = listed(parse_filters(visitor_type="returning", country="us"))
    # The last: four or more characters after /p/, pages interleaved with others in key order (a row mask).
    for pattern in ("https://bench.example.com/p/1*", "https://bench.example.com/*", SCATTERED):
        group = GroupRef(PagePattern(pattern), "desktop")
        result[pattern] = summary_text(service.page_summary(group, WINDOW))
        result[f"{pattern} elements"] = service.page_elements(group, WINDOW).to_dicts()
    top = PageRef(result["CLICKS"][0]["pageKey"], "desktop")
    result["top without fixed"] = summary_text(service.page_summary(top, WINDOW, include_fixed=False))
    result["top elements without fixed, 1440 px"] = service.page_elements(
        top, WINDOW, include_fixed=False, width=1440
    ).to_dicts()
    keys, store = [entity["pageKey"] for entity in result["CLICKS"][:3]], service.store
    result["cells"] = store.page_cells(keys, WINDOW, WebFilters(), "desktop", include_fixed=False).to_dicts()
    result["geometry"] = store.page_geometry(keys, WINDOW, WebFilters(country="us"), "tablet")
    days = explore.DayRange(WINDOW.from_day, WINDOW.to_day)
    result["dimensions"] = explore.dimension_values(store, days).to_dicts()
    result["segment values"] = sorted(map(str, explore.segment_values(store, days).to_dicts()))
    for narrow in (WebFilters(), WebFilters(country="us", browser="firefox")):
        result[f"scroll only {narrow}"] = scroll_only.scroll_only_pages(store, WINDOW, narrow).to_dicts()
    template = "https://replay.example/{sessionId}?v={visitorId}&d={date}"
    cells = store.page_cells(keys, WINDOW, WebFilters(), "desktop", include_fixed=True)
    hottest = [tuple(row) for row in cells.sort("clicks", "bin_y", "bin_x", descending=True).head(3).rows()]
    for layer in ("clicks", "dead", "rage"):
        result[f"spot {layer}"] = explore.hotspot_sessions(
            store, page_keys=keys, breakpoint="desktop", window=WINDOW, filters=WebFilters(),
            bins=[(x, y) for x, y, *_ in hottest], layer=layer, replay_template=template,
            include_fixed=False,
        ).to_dicts()  # fmt: skip
    for selector in service.page_elements(top, WINDOW).get_column("selector").head(1).to_list():
        result["element sessions"] = explore.element_sessions(
            store, page_keys=keys, breakpoint="desktop", window=WINDOW, filters=WebFilters(country="us"),
            selector=selector, replay_template=template,
        ).to_dicts()  # fmt: skip
    segmented = parse_filters(visitor_type="returning", country="us")
    result["top returning us"] = summary_text(service.page_summary(top, WINDOW, segmented))
    for entity in result["CLICKS"][:4]:
        for breakpoint in breakpoints.NAMES:
            page = PageRef(entity["pageKey"], breakpoint)
            result[f"{page.page_key} {breakpoint}"] = summary_text(service.page_summary(page, WINDOW))
            result[f"{page.page_key} {breakpoint} elements"] = service.page_elements(page, WINDOW).to_dicts()
    return result


@pytest.fixture
def small_compactions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "COMPACT_MIN_TAIL", 700)
    monkeypatch.setattr(runs, "COMPACT_TAIL_SHARE", 0.0)


def test_replica_matches_sql_through_refreshes_late_events_and_erasure(
    engine,
    settings,
    tmp_path,
    small_compactions,
) -> None:
    events = list(generate(events=4000, days=10, seed=3, end=END))
    load(engine, settings, events[:2500])
    sql = HeatmapService(SqlStore(engine), settings, b"k")
    store = ReplicaStore(engine, tmp_path / "replica")
    replica = HeatmapService(store, settings, b"k")
    first = answers(replica)
    assert first == answers(sql)
    assert store.refresh().base.height > 0, "the first load was compacted"
    scattered = HeatmapService(store, settings, b"k").matching_pages(PagePattern(SCATTERED))
    assert store.refresh().page_frames(scattered)[1], "a group whose pages lie in many ranges is masked"
    assert all(first[name] for name in ("pattern", "segments", "returning", "returning us")), (
        "the filters keep some pages"
    )

    mark = store.last_seq()
    load(engine, settings, events[2500:])  # incremental: only the tail is copied
    assert answers(replica) == answers(sql)
    # A snapshot older than a compacted run: its counts come from the run's events, not its daily sums.
    assert max(run.max_seq for run in store.refresh().runs) > mark
    window = (date(2026, 10, 20), date(2026, 10, 31))
    for filters in (WebFilters(), WebFilters(country="us"), parse_filters(tags=["variant:b"])):
        ours, theirs = (
            metrics.pages_from_counts(s.click_counts(*window, filters, as_of_seq=mark)).sort("page_key")
            for s in (store, SqlStore(engine))
        )
        assert ours.equals(theirs) and ours.height > 0

    # A late click extends a run whose clicks already sit in the compacted base: their flags change.
    top_page = answers(sql)["CLICKS"][0]["pageKey"]
    base_rows = store.refresh().base
    victim = base_rows.filter(base_rows["page_key"].cast(str) == top_page).row(0, named=True)
    ts = victim["ts"].replace(tzinfo=UTC)
    common = {
        "sessionId": victim["session_id"],
        "visitorId": victim["visitor_id"],
        "url": top_page,
        "viewportWidth": victim["viewport_width"],
        "documentWidth": victim["document_width"],
        "documentHeight": victim["document_height"],
    }
    late = [
        web_click(
            **common, x=victim["x"], y=victim["y"], timestamp=(ts + timedelta(milliseconds=ms)).isoformat()
        )
        for ms in (300, 600)
    ]
    before_late = store.last_seq()
    load(engine, settings, late)
    earlier = store.clicks_before_late_sessions(before_late).sort("seq")
    assert victim["seq"] in earlier["seq"].to_list()
    assert earlier["seq"].max() <= before_late
    assert earlier.equals(SqlStore(engine).clicks_before_late_sessions(before_late).sort("seq"))
    refreshed = store.refresh()
    assert refreshed.tail.height == 2
    flags = refreshed.base.filter(refreshed.base["seq"] == victim["seq"]).select("rage", "rage_start").row(0)
    assert flags == (True, True), "the older click became the start of a rage run"
    assert answers(replica) == answers(sql)

    forget_visitor(engine, events[0]["visitorId"])  # deletions force a rebuild
    assert answers(replica) == answers(sql)


def test_restart_loads_the_file_and_catches_up_only_the_tail(
    engine, settings, tmp_path, small_compactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = list(generate(events=2000, days=5, seed=5, end=END))
    load(engine, settings, events[:1500])
    first = ReplicaStore(engine, tmp_path / "replica")
    first.refresh()
    load(engine, settings, events[1500:])

    restarted = ReplicaStore(engine, tmp_path / "replica")
    fetched_from: list[int] = []
    original = catchup.rows_after

    def spy(conn, after: int, upto: int):
        fetched_from.append(after)
        return original(conn, after, upto)

    monkeypatch.setattr(catchup, "rows_after", spy)
    sql = HeatmapService(SqlStore(engine), settings, b"k")
    assert answers(HeatmapService(restarted, settings, b"k")) == answers(sql)
    assert fetched_from and min(fetched_from) > 0, "the restart read the file, not every row"


def test_damaged_or_deleted_files_lose_nothing(engine, settings, tmp_path, small_compactions) -> None:
    load(engine, settings, list(generate(events=1500, days=5, seed=9, end=END)))
    directory = tmp_path / "replica"
    ReplicaStore(engine, directory).refresh()
    for path in directory.glob("*.arrow"):
        path.write_bytes(b"garbage")
    sql = answers(HeatmapService(SqlStore(engine), settings, b"k"))
    assert answers(HeatmapService(ReplicaStore(engine, directory), settings, b"k")) == sql
    for path in directory.iterdir():
        path.unlink()
    assert answers(HeatmapService(ReplicaStore(engine, directory), settings, b"k")) == sql
