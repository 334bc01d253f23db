"""The demo shop's session recordings (demo_site.recordings, demo_site.page_html): well-formed rrweb events
that replay the sessions' web events on pages built from the layouts the screenshots are drawn from,
text masked, deterministic; which sessions get one."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from data_layer.recordings import validate_chunk
from demo_site import page_html, recordings
from demo_site.catalog import demo_page_keys
from demo_site.layout import Element
from demo_site.pages import page_layout
from demo_site.recordings import DemoRecording, WebEvent
from demo_site.traffic import generate_web_events

END = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
NODE_TYPES = {0: "Document", 1: "DocumentType", 2: "Element", 3: "Text"}


@pytest.fixture(scope="module")
def stored() -> list[WebEvent]:
    return recordings.web_events_of(generate_web_events(events=3000, days=10, seed=5, end=END))


@pytest.fixture(scope="module")
def made(stored: list[WebEvent]) -> list[DemoRecording]:
    return list(recordings.demo_recordings(stored))


def of_session(stored: list[WebEvent], session_id: str) -> list[WebEvent]:
    return sorted((e for e in stored if e.session_id == session_id), key=lambda e: (e.at, e.seq))


def pages_of(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """A recording's events page by page, each from its Meta event."""
    page: list[dict[str, Any]] = []
    for event in events:
        if event["type"] == recordings.META and page:
            yield page
            page = []
        page.append(event)
    yield page


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("childNodes", ()):
        yield from nodes(child)


def incremental(page: list[dict[str, Any]], source: int) -> list[dict[str, Any]]:
    return [e for e in page if e["type"] == recordings.INCREMENTAL and e["data"]["source"] == source]


# -- the events ------------------------------------------------------------------------------------------


def test_some_sessions_are_recorded_but_not_most(stored: list[WebEvent], made: list[DemoRecording]) -> None:
    sessions = {event.session_id for event in stored}
    assert 0.02 * len(sessions) < len(made) < 0.5 * len(sessions)  # (5 % of the default demo's)
    assert {recording.session_id for recording in made} == recordings.choose_sessions(stored)
    assert Counter(of_session(stored, r.session_id)[0].breakpoint for r in made).keys() == {
        "desktop",
        "tablet",
        "mobile",
    }


def test_every_page_starts_with_its_meta_and_full_snapshot(
    stored: list[WebEvent], made: list[DemoRecording]
) -> None:
    for recording in made:
        visits = of_session(stored, recording.session_id)
        pages = list(pages_of(recording.events))
        # One page per run of the session's events on one page, in the order visited.
        runs = [visits[0].url] + [b.url for a, b in itertools.pairwise(visits) if b.url != a.url]
        assert [page[0]["data"]["href"] for page in pages] == runs
        for page in pages:
            meta, full, *rest = page
            assert meta["type"] == recordings.META
            assert meta["data"] | {"href": ""} == {
                "href": "",
                "width": visits[0].viewport_width,
                "height": visits[0].viewport_height,
            }
            assert full["type"] == recordings.FULL_SNAPSHOT
            assert full["timestamp"] == meta["timestamp"]
            assert full["data"]["initialOffset"] == {"left": 0, "top": 0}
            assert {event["type"] for event in rest} <= {recordings.INCREMENTAL}
            assert {event["data"]["source"] for event in rest} <= {
                recordings.MOUSE_MOVE,
                recordings.MOUSE_INTERACTION,
                recordings.SCROLL,
            }


def test_timestamps_never_go_back_and_start_before_the_first_web_event(
    stored: list[WebEvent], made: list[DemoRecording]
) -> None:
    for recording in made:
        times = [event["timestamp"] for event in recording.events]
        assert times == sorted(times)
        assert all(isinstance(moment, int) for moment in times)
        visits = of_session(stored, recording.session_id)
        assert times[0] == visits[0].at - 1000
        assert times[-1] <= visits[-1].at  # a scroll to where the page already is sends nothing
        for page in pages_of(recording.events):
            for move in incremental(page, recordings.MOUSE_MOVE):
                offsets = [position["timeOffset"] for position in move["data"]["positions"]]
                assert offsets == sorted(offsets) and offsets[-1] == 0 and offsets[0] > -500
                assert move["timestamp"] + offsets[0] > page[0]["timestamp"]


def test_clicks_land_on_the_clicked_element_where_the_web_event_says(
    stored: list[WebEvent], made: list[DemoRecording]
) -> None:
    """Each stored click is a Click interaction at its time, on the node of its selector's element, at its
    x and (with the document's scroll position then, or as is when fixed) its y, inside the box."""
    checked = 0
    for recording in made:
        visits = iter([e for e in of_session(stored, recording.session_id) if e.kind == "click"])
        for page in pages_of(recording.events):
            width = page[0]["data"]["width"]
            layout = page_layout(page[0]["data"]["href"], _breakpoint(width))
            html = page_html.page_html(page[0]["data"]["href"], _breakpoint(width))
            assert layout is not None and html is not None
            by_id = dict(zip(html.element_ids, layout.elements, strict=True))
            scroll_y = 0
            for event in page[2:]:
                data = event["data"]
                if data["source"] == recordings.SCROLL:
                    assert data["id"] == page_html.DOCUMENT_ID and data["x"] == 0
                    scroll_y = data["y"]
                elif data["source"] == recordings.MOUSE_INTERACTION and data["type"] == recordings.CLICK:
                    click = next(visits)
                    element = by_id[data["id"]]
                    assert (event["timestamp"], element.selector) == (click.at, click.selector)
                    document_y = data["y"] + (0 if element.fixed else scroll_y)
                    assert (data["x"], document_y) == (click.x, click.y)
                    assert 0 <= data["y"] <= page[0]["data"]["height"]  # in the viewport
                    assert _inside(element, width, data["x"], document_y)
                    checked += 1
        assert next(visits, None) is None
    assert checked > 100


def _breakpoint(width: int) -> str:
    return "desktop" if width >= 1024 else "tablet" if width >= 768 else "mobile"


def _inside(element: Element, width: int, x: float, y: float) -> bool:
    return element.left * width - 1 <= x <= element.right * width + 1 and element.top <= y <= element.bottom


def test_each_stored_scroll_depth_is_reached_at_its_time(
    stored: list[WebEvent], made: list[DemoRecording]
) -> None:
    """The document's scroll position at a stored scroll's time puts the viewport's bottom at its depth."""
    for recording in made:
        # (time, position) of every page's snapshot (back at the top) and scroll, in order.
        positions = [
            (event["timestamp"], 0 if event["type"] == recordings.FULL_SNAPSHOT else event["data"]["y"])
            for event in recording.events
            if event["type"] == recordings.FULL_SNAPSHOT or event["data"].get("source") == recordings.SCROLL
        ]
        for visit in of_session(stored, recording.session_id):
            if visit.kind != "scroll":
                continue
            layout = page_layout(visit.url, visit.breakpoint)
            assert layout is not None and visit.depth is not None
            expected = round(visit.depth / 100 * layout.height) - visit.viewport_height
            expected = min(max(0, layout.height - visit.viewport_height), max(0, expected))
            assert [y for at, y in positions if at <= visit.at][-1] == expected


def test_desktops_move_a_mouse_to_each_click_and_touch_devices_tap(
    stored: list[WebEvent], made: list[DemoRecording]
) -> None:
    for recording in made:
        breakpoint = of_session(stored, recording.session_id)[0].breakpoint
        for page in pages_of(recording.events):
            kinds = [event["data"]["type"] for event in incremental(page, recordings.MOUSE_INTERACTION)]
            clicks = kinds.count(recordings.CLICK)
            moves = incremental(page, recordings.MOUSE_MOVE)
            if breakpoint == "desktop":
                assert kinds == [recordings.MOUSE_DOWN, recordings.MOUSE_UP, recordings.CLICK] * clicks
            else:
                assert kinds == [recordings.TOUCH_START, recordings.TOUCH_END, recordings.CLICK] * clicks
                assert not moves
            for move in moves:
                for position in move["data"]["positions"]:
                    assert 0 <= position["x"] < page[0]["data"]["width"]
                    assert 0 <= position["y"] < page[0]["data"]["height"]
    pointers = {
        event["data"].get("pointerType")
        for recording in made
        for event in recording.events
        if event["type"] == recordings.INCREMENTAL and event["data"].get("type") == recordings.CLICK
    }
    assert pointers == {recordings.POINTER_MOUSE, recordings.POINTER_TOUCH}


def test_the_same_web_events_give_the_same_recordings(
    stored: list[WebEvent], made: list[DemoRecording]
) -> None:
    again = list(
        recordings.demo_recordings(
            recordings.web_events_of(generate_web_events(events=3000, days=10, seed=5, end=END))
        )
    )
    assert [json.dumps(r.chunks()) for r in again] == [json.dumps(r.chunks()) for r in made]
    other = list(
        recordings.demo_recordings(
            recordings.web_events_of(generate_web_events(events=3000, days=10, seed=6, end=END))
        )
    )
    assert {r.session_id for r in other}.isdisjoint({r.session_id for r in made})


def test_chunks_are_valid_uploads_numbered_across_the_session(made: list[DemoRecording]) -> None:
    for recording in made:
        chunks = recording.chunks()
        assert [chunk["seq"] for chunk in chunks] == list(range(len(chunks)))
        assert [e for chunk in chunks for e in chunk["events"]] == recording.events
        for chunk in chunks:
            valid = validate_chunk(chunk)
            assert (valid.session_id, valid.visitor_id) == (recording.session_id, recording.visitor_id)
            events = chunk["events"]
            assert {e["data"]["href"] for e in events if e["type"] == recordings.META} <= {chunk["url"]}
            if events[0]["type"] == recordings.META:  # a page's first chunk: its Meta and snapshot alone
                assert [e["type"] for e in events] == [recordings.META, recordings.FULL_SNAPSHOT]
            else:
                assert events[-1]["timestamp"] - events[0]["timestamp"] < recordings.CHUNK_MS


# -- the page ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("breakpoint", ["desktop", "tablet", "mobile"])
@pytest.mark.parametrize("page_key", demo_page_keys()[:: len(demo_page_keys()) // 8])
def test_the_snapshot_is_rrweb_s_serialized_document(page_key: str, breakpoint: str) -> None:
    html = page_html.page_html(page_key, breakpoint)
    assert html is not None
    document = html.node
    every = list(nodes(document))
    ids = [node["id"] for node in every]
    assert sorted(ids) == list(range(1, len(ids) + 1)) and html.node_count() == len(ids)  # unique
    assert document["type"] == 0 and document["id"] == page_html.DOCUMENT_ID
    doctype, root = document["childNodes"]
    assert doctype == {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}
    assert root["tagName"] == "html" and [child["tagName"] for child in root["childNodes"]] == [
        "head",
        "body",
    ]
    for node in every:
        assert node["type"] in NODE_TYPES
        assert "rootId" not in node  # the top document's nodes carry none (its id is 1)
        if node["type"] == 2:
            assert set(node) == {"type", "tagName", "attributes", "childNodes", "id"}
            assert re.fullmatch("[a-z][a-z0-9]*", node["tagName"])
        elif node["type"] == 3:
            assert set(node) == {"type", "textContent", "id"}
    body = root["childNodes"][1]
    assert [child["id"] for child in body["childNodes"]] == list(html.element_ids)
    assert body["attributes"] == {"style": f"height:{html.layout.height}px"}


def test_the_page_is_the_layout_s_boxes_with_its_text_masked() -> None:
    key = demo_page_keys()[0]
    html = page_html.page_html(key, "desktop")
    assert html is not None
    body = html.node["childNodes"][1]["childNodes"][1]
    for element, node in zip(html.layout.elements, body["childNodes"], strict=True):
        style = dict(part.split(":") for part in node["attributes"]["style"].split(";"))
        assert float(style["left"].rstrip("%")) == pytest.approx(element.left * 100, abs=0.001)
        assert float(style["width"].rstrip("%")) == pytest.approx(
            (element.right - element.left) * 100, abs=0.002
        )
        assert (style["top"], style["height"]) == (f"{element.top}px", f"{element.bottom - element.top}px")
        classes = node["attributes"]["class"].split()
        assert ("f" in classes) == element.fixed
        assert (f"b-{element.label}" if element.role == "band" else f"r-{element.role}") in classes
        texts = [n["textContent"] for n in nodes(node) if n["type"] == 3]
        shown = "" if element.role in ("band", "text") else element.label
        if node["tagName"] in ("input", "textarea"):
            assert (texts, node["attributes"]["placeholder"]) == ([], page_html.mask(shown))
        else:
            assert texts == ([page_html.mask(shown)] if shown else [])
    cta = next(n for n in body["childNodes"] if n["attributes"].get("id") == "shop-now-cta")
    assert cta["tagName"] == "button" and cta["childNodes"][0]["textContent"] == "**** *** **********"


def test_no_word_and_no_url_is_in_any_recording(made: list[DemoRecording]) -> None:
    """The recorder never sends a page's text; the page's style names no URL, so nothing is fetched."""
    labels = {
        word
        for key in demo_page_keys()
        for element in page_layout(key, "desktop").elements  # type: ignore[union-attr]
        for word in re.findall(r"[A-Za-z]{4,}", element.label)
    }
    for recording in made:
        snapshots = [e["data"]["node"] for e in recording.events if e["type"] == recordings.FULL_SNAPSHOT]
        for snapshot in snapshots:
            for node in nodes(snapshot):
                if node["type"] == 3:
                    assert set(node["textContent"]) <= {"*", " "}
                for name, value in node.get("attributes", {}).items():
                    if name in ("placeholder", "title", "alt", "aria-label", "value"):
                        assert set(value) <= {"*", " "}
        text = json.dumps(snapshots)
        assert "url(" not in page_html.CSS and "http" not in text and "//" not in text
        # Only the page's structure is kept: tags, ids and classes (which may be words), its styles.
        kept = {"class", "id", "style", "_cssText", "type", "lang", "selected"}
        assert all(
            set(node.get("attributes", {})) <= kept | {"placeholder"} for s in snapshots for node in nodes(s)
        )
        structure = json.dumps(
            [
                {k: v for k, v in n.get("attributes", {}).items() if k not in kept}
                for s in snapshots
                for n in nodes(s)
            ]
            + [n.get("textContent", "") for s in snapshots for n in nodes(s)]
        )
        assert not [word for word in labels if re.search(rf"\b{word}\b", structure)]


def test_the_replays_and_busiest_hotspots_of_the_busiest_pages_are_chosen(stored: list[WebEvent]) -> None:
    """The sessions the summary's replay links point at (rage events, dead clicks, clicks, latest event),
    computed here with the product's own ranking over the same events."""
    import polars as pl

    from data_layer.metrics import RANK_KEYS, session_ranking

    chosen = recordings.choose_sessions(stored)
    frame = pl.DataFrame(
        {
            "page_key": [e.page_key for e in stored],
            "breakpoint": [e.breakpoint for e in stored],
            "session_id": [e.session_id for e in stored],
            "event_type": [e.kind for e in stored],
            "rage_start": [e.rage_start for e in stored],
            "dead": [e.dead for e in stored],
            "ts": [datetime.fromtimestamp(e.at / 1000, UTC).replace(tzinfo=None) for e in stored],
        }
    )
    checked = 0
    for key in demo_page_keys()[: recordings.RECORDED_PAGES]:
        ranked = session_ranking(frame.filter(pl.col("page_key") == key)).sort(
            list(RANK_KEYS), descending=[True, True, True, True, False]
        )
        for breakpoint in ("desktop", "tablet", "mobile"):
            best = ranked.filter(pl.col("breakpoint") == breakpoint)["session_id"].head(5).to_list()
            assert set(best) <= chosen
            checked += len(best)
    assert checked > 80
    sample = recordings.choose_sessions(stored, pages=[])
    assert sample < chosen and len(sample) < 0.02 * len({e.session_id for e in stored})
