"""Stored rows as ingestion builds them: column order, and what each backend stores from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, select, text

from data_layer.db import bulk_insert, write_transaction
from data_layer.ingest import RequestContext, web_event_row
from data_layer.schema import WEB_ROW_COLUMNS, web_events
from data_layer.settings import Settings


def test_a_web_row_holds_each_value_under_its_column(settings: Settings) -> None:
    event = {
        "event_id": "e-1",
        "type": "click",
        "timestamp": datetime(2026, 4, 1, 12, 30, 5, 250000),
        "session_id": "s-1",
        "visitor_id": "v-1",
        "url": "https://Shop.example.com/pricing/?utm_source=x",
        "viewport_width": 1280,
        "viewport_height": 801,
        "document_width": 1300,
        "document_height": 4002,
        "x": 10.5,
        "y": 20.25,
        "selector": "main > a",
        "dead": True,
        "fixed": False,
        "country": "fr",
        "region": "FR-IDF",
        "browser_name": "Firefox",
        "utm_source": "News",
        "utm_campaign": "",
        "referrer_host": "Search.Example:8080",
        "tags": {"variant": "B", "plan": "pro"},
        "element_rect": {"x": 4, "y": 18.5, "width": 120, "height": 24},
    }
    row = web_event_row(event, settings, RequestContext())
    assert dict(zip(WEB_ROW_COLUMNS, row, strict=True)) == {
        "event_id": "e-1",
        "event_type": "click",
        "ts": datetime(2026, 4, 1, 12, 30, 5, 250000),
        "day": date(2026, 4, 1),
        "page_key": "https://shop.example.com/pricing",
        "breakpoint": "desktop",
        "session_id": "s-1",
        "visitor_id": "v-1",
        "viewport_width": 1280,
        "viewport_height": 801,
        "document_width": 1300,
        "document_height": 4002,
        "x": 10.5,
        "y": 20.25,
        "selector": "main > a",
        "dead": True,
        "fixed": False,
        "depth": None,
        "country": "FR",
        "region": "FR-IDF",
        "browser": "Firefox",
        "utm_source": "News",
        "utm_medium": None,
        "utm_campaign": None,
        "referrer_host": "search.example:8080",
        "tags": '{"plan":"pro","variant":"B"}',
        "visitor_type": "new",
        "rect_x": 4.0,
        "rect_y": 18.5,
        "rect_width": 120.0,
        "rect_height": 24.0,
        "rage": False,
        "rage_start": False,
    }
    # Every stored column but the ones the database fills (sequence number, flags revision).
    assert set(WEB_ROW_COLUMNS) == {column.name for column in web_events.columns} - {"seq", "flags_rev"}


def stored(engine: Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query))]


def test_an_integer_in_a_float_column_is_stored_as_a_real(engine: Engine) -> None:
    """bulk_insert passes numbers to SQLite unconverted: the FLOAT column's affinity makes them reals."""
    table = Table(
        "numbers", MetaData(), Column("name", String(8)), Column("value", Float), Column("other", Float)
    )
    table.create(engine)
    with write_transaction(engine) as conn:  # no column needs a conversion: rows go as they are
        bulk_insert(conn, table, ("name", "value", "other"), [["int", 7, None], ["float", 2.5, 1]])
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(select(table).order_by(table.c.name))]
    assert rows == [("float", 2.5, 1.0), ("int", 7.0, None)]
    assert all(isinstance(value, float) for _, value, _ in rows)
    if engine.dialect.name == "sqlite":
        assert stored(engine, "SELECT typeof(value) FROM numbers ORDER BY name") == [("real",), ("real",)]
