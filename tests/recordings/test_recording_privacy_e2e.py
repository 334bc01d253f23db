"""End to end: a real Chromium records a page full of known words through the real API, and nothing the
server stored holds any of them, while the recording can still be played.

`heatmaps api` runs as a process on loopback with a fresh SQLite database (heatmaps_testing.loopback); a
second server plays the customer's site (tests/recordings/privacy_page.html, whose words in capitals
starting with Q are its text). The visitor types into an input, an e-mail field, a textarea and a
contenteditable, picks an option and ticks a box, changes the page by a click, and follows a link to a
second page (so page 1's last events leave by beacon). Then the test reads everything the server stored:
the recording through GET /rest/v1/sessions/{id}/recording, every row of every table of the database
(compressed values inflated), and the database files' raw bytes.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select

from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from heatmaps_testing.loopback import ApiServer, make_tokens
from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.recordings.site import PAGE_WORDS, site_for

pytestmark = [*needs_chromium, pytest.mark.live]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

TYPED = {  # words found nowhere else (not in the page, its ids, its styles, or the database's own schema)
    "#name": "QWYNNETH Smithersby",
    "#email": "qyburn.zq@example.org",
    "#notes": "QYZZYVA Qophnotes\nQxlinea",
    "#editor": " QAFQAZ Qeditedz",
}
OPTION_VALUES = ["plain-choice", "other-choice", "third-choice"]
SECRETS = [
    *PAGE_WORDS,
    "15550123",
    *(word for text in TYPED.values() for word in text.split()),
    *OPTION_VALUES,
]
RECORDING_UP = (
    "() => !!(window.__heatmaps && window.__heatmaps.recording && window.__heatmaps.recording.flush)"
)
META, FULL_SNAPSHOT, INCREMENTAL = 4, 2, 3
MUTATION, MOUSE_INTERACTION, INPUT = 0, 2, 5


@pytest.fixture
def api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The API on a fresh database; settings (``{name: value}`` as HEATMAPS_NAME) by indirect parameter."""
    url = f"sqlite:///{tmp_path / 'recordings.db'}"
    upgrade(url)
    ingest, view = make_tokens(url)
    with ApiServer(url, tmp_path, **getattr(request, "param", {})) as server:
        yield {
            "base": server.base,
            "url": url,
            "file": tmp_path / "recordings.db",
            "ingest": ingest,
            "view": view,
        }


def _record_a_visit(api: dict[str, Any], site: str) -> str:
    """Visits page 1 and page 2 of the site; returns the session id."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{site}/page/1")
        page.wait_for_function(RECORDING_UP)
        for selector, text in TYPED.items():
            page.click(selector)
            if selector == "#editor":
                page.keyboard.press("End")
            else:
                page.keyboard.press("Control+A")
            page.keyboard.type(text)
        page.select_option("#flavour", "other-choice")
        page.check("#agree")
        page.click("#more")
        page.evaluate("() => window.__heatmaps.recording.flush()")
        page.mouse.move(10, 10)
        page.click("#link")  # page 1's last events leave by beacon
        page.wait_for_function(RECORDING_UP)
        page.click("#more")
        page.evaluate("() => window.__heatmaps.recording.flush()")
        session = page.evaluate("() => sessionStorage.getItem('hm_sid')")
        page.close(run_before_unload=True)
        _wait_for_chunks(api, session)  # the browser stays up until the beacons have landed
        browser.close()
    return session


def _chunks(api: dict[str, Any]) -> list[dict[str, Any]]:
    engine = create_db_engine(api["url"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(_tables(engine)["recording_chunks"])).all()
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def _wait_for_chunks(api: dict[str, Any], session: str, timeout: float = 20) -> None:
    """Until page 2's chunks have arrived and the session's seq numbers have no gap."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunks = [c for c in _chunks(api) if c["session_id"] == session]
        seqs = sorted(c["seq"] for c in chunks)
        page2 = any(c["page_key"].endswith("/page/2") for c in chunks)
        if page2 and len(seqs) >= 4 and seqs == list(range(len(seqs))):
            return
        time.sleep(0.2)
    pytest.fail(f"the chunks did not arrive: {[(c['seq'], c['page_key']) for c in _chunks(api)]}")


def _tables(engine: Any) -> dict[str, Any]:
    meta = MetaData()
    meta.reflect(engine)
    return meta.tables


def _readable(value: Any) -> str:
    """A stored value as text: bytes inflated when they are zlib or gzip, else decoded as they are."""
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        for inflate in (zlib.decompress, gzip.decompress):
            try:
                data = inflate(data)
                break
            except (zlib.error, OSError, EOFError):
                continue
        return data.decode("utf-8", errors="replace")
    return str(value)


def _everything_stored(api: dict[str, Any]) -> str:
    """Every value of every row of every table, inflated, and the database files' raw bytes."""
    engine = create_db_engine(api["url"])
    parts: list[str] = []
    try:
        with engine.connect() as conn:
            for table in _tables(engine).values():
                for row in conn.execute(select(table)):
                    parts.extend(_readable(value) for value in row)
    finally:
        engine.dispose()
    for path in api["file"].parent.glob(api["file"].name + "*"):  # the database, its -wal and -shm
        parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("childNodes", []):
        yield from _nodes(child)


def test_nothing_the_server_stored_holds_page_text_or_typed_values(api: dict[str, Any]) -> None:
    with site_for(api["base"], api["ingest"], record="on") as site:
        session = _record_a_visit(api, site)

    answer = httpx.get(
        f"{api['base']}/rest/v1/sessions/{session}/recording",
        headers={"Authorization": f"Bearer {api['view']}"},
        timeout=30,
    )
    assert answer.status_code == 200
    stored = _everything_stored(api)
    for secret in SECRETS:
        assert secret not in answer.text, f"{secret!r} is in the recording"
        assert secret not in stored, f"{secret!r} is in the database"
    assert "QUOKKA" in PAGE_WORDS and len(PAGE_WORDS) >= 35  # the page's words were found

    recording = answer.json()
    events = recording["events"]
    assert recording["sessionId"] == session
    # Two pages, each starting with a full snapshot of the page's structure.
    snapshots = [e for e in events if e["type"] == FULL_SNAPSHOT]
    assert len(snapshots) == 2
    assert [e["type"] for e in events[:2]] == [META, FULL_SNAPSHOT]
    first = list(_nodes(snapshots[0]["data"]["node"]))
    tags = {n["tagName"] for n in first if n["type"] == 2}
    assert tags >= {"html", "head", "title", "body", "h1", "p", "b", "a", "img", "button", "input", "form"}
    assert tags >= {"label", "textarea", "select", "option", "optgroup", "div", "ul"}
    # Ids are masked like text (site generators make them from headings); data-part finds elements here.
    by_html_id = {n["attributes"]["data-part"]: n for n in first if "data-part" in n.get("attributes", {})}
    heading = by_html_id["heading"]
    assert heading["attributes"]["id"] == "*******"
    # ... but for what a stylesheet selects by, which the recorded stylesheet spells out anyway.
    assert by_html_id["drawer"]["attributes"]["id"] == "__drawer"
    assert by_html_id["drawer-label"]["attributes"]["for"] == "__drawer"
    assert by_html_id["footnote"]["attributes"]["id"] == "fnref:**********"
    assert heading["attributes"]["title"] == "******* ******* *****"  # masked, the length kept
    assert heading["childNodes"][0]["textContent"] == "****** **** *******"
    assert by_html_id["logo"]["attributes"]["src"] == f"{site}/logo.png"  # an image is its URL

    # The visitor's interactions are there, masked.
    incremental = [e["data"] for e in events if e["type"] == INCREMENTAL]
    inputs = {d["id"]: d for d in incremental if d["source"] == INPUT}
    for selector in ("#name", "#email", "#notes", "#flavour"):
        node = by_html_id[selector[1:]]
        assert set(inputs[node["id"]]["text"]) == {"*"}, selector
    assert inputs[by_html_id["name"]["id"]]["text"] == "*" * len(TYPED["#name"])
    assert inputs[by_html_id["agree"]["id"]]["isChecked"] is True
    clicked = {d["id"] for d in incremental if d["source"] == MOUSE_INTERACTION}
    assert {by_html_id["more"]["id"], by_html_id["link"]["id"]} <= clicked
    added = [a["node"] for d in incremental if d["source"] == MUTATION for a in d.get("adds", [])]
    assert any(n.get("tagName") == "li" for n in added)  # the item the click added
    editor_texts = [t["value"] for d in incremental if d["source"] == MUTATION for t in d.get("texts", [])]
    assert any(len(v) > len("QUIPU editable text") and set(v) <= {"*", " "} for v in editor_texts)
    chunks = sorted(_chunks(api), key=lambda c: c["seq"])
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    assert {c["page_key"].rsplit("/", 1)[1] for c in chunks} == {"1", "2"}
    assert json.loads(zlib.decompress(chunks[0]["events"]))[0]["type"] == META


@pytest.mark.parametrize("api", [{"recording_max_mb": "1"}], indirect=True)
def test_the_server_s_cap_ends_the_session_s_recording(api: dict[str, Any]) -> None:
    """Past the session's cap (1 MiB here) the API answers 413: the tracker records no more of the
    session, on this page or the next, and what was stored stays under the cap."""
    with site_for(api["base"], api["ingest"], record="on") as site, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{site}/page/1")
        page.wait_for_function(RECORDING_UP)
        page.evaluate(
            """async () => {
                for (let i = 0; i < 30; i++) {  // 30 mutations of 50,000 characters: 1.5 MB of events
                    const li = document.createElement("li");
                    li.textContent = "word ".repeat(10000);
                    document.getElementById("list").appendChild(li);
                    await new Promise(r => setTimeout(r, 0));
                    await window.__heatmaps.recording.flush();
                }
            }"""
        )
        session = page.evaluate("() => sessionStorage.getItem('hm_sid')")
        assert page.evaluate("() => sessionStorage.getItem('hm_rec')") == f"{session}:0"
        stored_before = _chunks(api)
        page.click("#link")
        page.wait_for_function("() => window.__heatmaps !== undefined")
        page.click("#more")
        page.wait_for_timeout(1500)
        assert page.evaluate("() => window.__heatmaps.recording") is None  # page 2 loads no recorder
        browser.close()

    chunks = _chunks(api)
    assert [(c["seq"], c["page_key"]) for c in chunks] == [(c["seq"], c["page_key"]) for c in stored_before]
    assert 0 < sum(c["decoded_size"] for c in chunks) <= 1024 * 1024
    assert {c["page_key"].rsplit("/", 1)[1] for c in chunks} == {"1"}
