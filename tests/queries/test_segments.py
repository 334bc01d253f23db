"""Segments (CONTRACT 14) from ingestion to every store: what is stored, new and returning visitors, and
each segment filter over the pages list, with counts worked out by hand."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine, select

from data_layer import segments
from data_layer.errors import BadRequest
from data_layer.filters import WebFilters, Window, parse_filters
from data_layer.ingest import ingest_web_batch
from data_layer.replica import ReplicaStore
from data_layer.retention import forget_visitor
from data_layer.schema import visitors, web_events
from data_layer.settings import Settings
from data_layer.store import SqlStore
from tests.factories import web_click

WINDOW = Window(date(2026, 4, 1), date(2026, 4, 30))


def _stored(engine: Engine) -> list[dict[str, object]]:
    columns = ("session_id", "utm_source", "referrer_host", "tags", "visitor_type")
    with engine.connect() as conn:
        rows = conn.execute(select(*(web_events.c[c] for c in columns)).order_by(web_events.c.seq)).all()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_segment_fields_are_stored_as_sent_and_tags_canonically(engine: Engine, settings: Settings) -> None:
    ingest_web_batch(
        engine,
        settings,
        [
            web_click(utmSource="News", referrerHost="Search.Example", tags={"variant": "B", "plan": "pro"}),
            web_click(sessionId="s2", timestamp="2026-04-11T12:00:00Z"),
        ],
    )
    assert _stored(engine) == [
        {
            "session_id": "s1",
            "utm_source": "News",
            "referrer_host": "search.example",
            "tags": '{"plan":"pro","variant":"B"}',
            "visitor_type": "new",
        },
        {
            "session_id": "s2",
            "utm_source": None,
            "referrer_host": None,
            "tags": None,
            "visitor_type": "returning",
        },
    ]


def test_a_visitors_first_session_stays_new_and_later_ones_are_returning(
    engine: Engine, settings: Settings
) -> None:
    # One batch holds two sessions of a new visitor: the earlier one is the first.
    ingest_web_batch(
        engine,
        settings,
        [
            web_click(sessionId="b", timestamp="2026-04-10T13:00:00Z"),
            web_click(sessionId="a", timestamp="2026-04-10T12:00:00Z"),
        ],
    )
    # Later batches: the first session again (a tab still open), then a new one.
    ingest_web_batch(engine, settings, [web_click(sessionId="a", timestamp="2026-04-10T14:00:00Z")])
    ingest_web_batch(engine, settings, [web_click(sessionId="c", timestamp="2026-04-12T09:00:00Z")])
    assert [(row["session_id"], row["visitor_type"]) for row in _stored(engine)] == [
        ("b", "returning"),
        ("a", "new"),
        ("a", "new"),
        ("c", "returning"),
    ]


def test_forget_removes_the_remembered_first_session(engine: Engine, settings: Settings) -> None:
    ingest_web_batch(engine, settings, [web_click(visitorId="gone"), web_click(visitorId="kept")])
    forget_visitor(engine, "gone", settings)
    with engine.connect() as conn:
        assert conn.scalars(select(visitors.c.visitor_id)).all() == ["kept"]
    # Coming back after being forgotten is a first visit again.
    ingest_web_batch(engine, settings, [web_click(visitorId="gone", sessionId="later")])
    assert _stored(engine)[-1]["visitor_type"] == "new"


def _segmented_site(engine: Engine, settings: Settings) -> None:
    """Four sessions on two pages:

    - s1 (visitor v1, first visit): utm news/email/spring, from search.example, tags variant=B plan=pro;
      3 clicks on /a, 1 on /b
    - s2 (v1 again, returning): utm news/social, no referrer, tag variant=A; 2 clicks on /a
    - s3 (v2, new): no utm, from Other.Example, tag variant=B; 1 click on /b
    - s4 (v3, new): utm ads, a tag whose value spells another tag; 1 click on /a
    """
    a, b = "https://example.com/a", "https://example.com/b"
    s1 = {"utmSource": "news", "utmMedium": "email", "utmCampaign": "spring",
          "referrerHost": "search.example", "tags": {"variant": "B", "plan": "pro"}, "sessionId": "s1",
          "visitorId": "v1"}  # fmt: skip
    s2 = {"utmSource": "News", "utmMedium": "social", "tags": {"variant": "A"}, "sessionId": "s2",
          "visitorId": "v1", "timestamp": "2026-04-12T12:00:00Z"}  # fmt: skip
    s3 = {"referrerHost": "other.example", "tags": {"variant": "B"}, "sessionId": "s3", "visitorId": "v2"}
    s4 = {"utmSource": "ads", "tags": {"note": 'x,"variant":"B"'}, "sessionId": "s4", "visitorId": "v3"}
    events = [web_click(url=a, **s1) for _ in range(3)] + [web_click(url=b, **s1)]
    events += [web_click(url=a, **s2) for _ in range(2)] + [web_click(url=b, **s3), web_click(url=a, **s4)]
    ingest_web_batch(engine, settings, events)


FILTER_CASES = [
    ({}, {"https://example.com/a": 6, "https://example.com/b": 2}),
    ({"utm_source": "NEWS"}, {"https://example.com/a": 5, "https://example.com/b": 1}),
    ({"utm_source": "news", "utm_medium": "social"}, {"https://example.com/a": 2}),
    ({"utm_campaign": "Spring"}, {"https://example.com/a": 3, "https://example.com/b": 1}),
    ({"referrer_host": "OTHER.example"}, {"https://example.com/b": 1}),
    ({"visitor_type": "new"}, {"https://example.com/a": 4, "https://example.com/b": 2}),
    ({"visitor_type": "returning"}, {"https://example.com/a": 2}),
    ({"tags": ("variant:B",)}, {"https://example.com/a": 3, "https://example.com/b": 2}),
    ({"tags": ("variant:b", "plan:pro")}, {"https://example.com/a": 3, "https://example.com/b": 1}),
    ({"tags": ("variant:B", "plan:free")}, {}),
    ({"tags": ('note:x,"variant":"B"',)}, {"https://example.com/a": 1}),
    ({"utm_source": "nobody"}, {}),
]


@pytest.mark.parametrize("store_kind", ["sql", "replica"])
@pytest.mark.parametrize(("spelled", "expected"), FILTER_CASES)
def test_each_segment_filter_keeps_exactly_its_sessions_clicks(
    engine: Engine,
    settings: Settings,
    store_kind: str,
    spelled: dict[str, object],
    expected: dict[str, int],
) -> None:
    _segmented_site(engine, settings)
    store = SqlStore(engine) if store_kind == "sql" else ReplicaStore(engine)
    filters = parse_filters(**spelled)  # type: ignore[arg-type]
    counts = store.click_counts(WINDOW.from_day, WINDOW.to_day, filters)
    totals = counts.group_by("page_key").agg(pl.col("clicks").sum()).filter(pl.col("clicks") > 0)
    assert dict(totals.select(pl.col("page_key").cast(pl.String), "clicks").iter_rows()) == expected
    events = store.web_events(WINDOW.from_day, WINDOW.to_day, filters, columns=["page_key"])
    assert events.height == sum(expected.values())


def test_segment_values_come_back_from_the_key() -> None:
    key = segments.SEPARATOR.join(["returning", "news", "", "spring", "search.example", '{"a":"1"}'])
    parts = segments.split_keys(pl.Series([key]))
    assert parts.row(0, named=True) == {
        "visitor_type": "returning",
        "utm_source": "news",
        "utm_medium": None,
        "utm_campaign": "spring",
        "referrer_host": "search.example",
        "tags": '{"a":"1"}',
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"visitor_type": "old"}, "visitorType must be new or returning"),
        ({"tags": ("variant",)}, "tag must be key:value"),
        ({"tags": ("bad key:1",)}, "tag must be key:value"),
        ({"tags": ("k:" + "v" * 65,)}, "longer than 64"),
    ],
)
def test_bad_segment_filters_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_filters(**arguments)  # type: ignore[arg-type]


def test_filters_spelled_in_any_case_are_the_same_query() -> None:
    one = parse_filters(utm_source="News", visitor_type="NEW", tags=["Variant:B"])
    other = parse_filters(utm_source="news", visitor_type="new", tags=["variant:b"])
    assert one.digest_values() == other.digest_values()
    assert WebFilters().digest_values()["tags"] == []
