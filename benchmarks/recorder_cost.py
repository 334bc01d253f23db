"""What session recording costs a visitor: the recorder script's size, the bytes it uploads per minute
on a busy page, and the main-thread time it adds per minute. Prints figures.

.venv/bin/python -m benchmarks.recorder_cost                  # 60 s with and without recording, twice
.venv/bin/python -m benchmarks.recorder_cost --seconds 30 --runs 1

The real API runs on loopback with a temporary SQLite database (uploads are stored as in production);
a built-in page plays a busy shop: 600 product cards, a clock ticking every 250 ms, a price that changes
on 5 cards every second, a list item added every 2 s. A scripted visitor moves the mouse 20 times a
second, scrolls every 2 s, opens and closes a panel every 5 s, and types into a search box every 10 s.
The same visit runs with the tracker alone (no data-record) and with data-record="on"; Chromium's own
counters (CDP Performance.getMetrics: ScriptDuration, TaskDuration) give the main thread's time. Bytes
uploaded are the recording requests' bodies as sent (gzip for fetches, JSON for beacons).
"""

from __future__ import annotations

import argparse
import gzip
import math
import statistics
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from sqlalchemy import func, select

from api.recorder_script import RECORDER_GLUE, RRWEB_RECORD_BUNDLE, RRWEB_RECORD_VERSION, recorder_script
from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from data_layer.schema import recording_chunks
from heatmaps_testing.browser import CHROMIUM, CHROMIUM_ARGS
from heatmaps_testing.loopback import ApiServer, make_tokens, serving_html

TRACKER = Path(__file__).resolve().parents[1] / "tracker" / "tracker.js"
RECORDING_UP = (
    "() => !!(window.__heatmaps && window.__heatmaps.recording && window.__heatmaps.recording.flush)"
)
MOVE_EVERY_S = 0.05


def _shop(tag: str) -> bytes:
    cards = "".join(
        f'<div class="card" id="c{i}"><img src="/img/{i % 12}.png" alt="Product {i}" width="120" height="90">'
        f'<h3>Product {i}</h3><p class="price">{10 + i % 90}.99 EUR</p><button>Add to cart</button></div>'
        for i in range(600)
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Busy shop</title><style>
  body {{ margin: 0; font: 15px sans-serif; }}
  header {{ position: sticky; top: 0; background: #234; color: #fff; padding: 10px; z-index: 2; }}
  .grid {{ display: grid; grid-template-columns: repeat(6, 1fr); gap: 8px; padding: 8px; }}
  .card {{ border: 1px solid #ccc; padding: 6px; }} .card.hot {{ background: #fed; }}
  #panel {{ display: none; padding: 20px; background: #eef; }} #panel.open {{ display: block; }}
</style></head><body>
<header>Busy shop <span id="clock"></span> <input id="search" placeholder="Search">
<button id="toggle">Filters</button></header>
<div id="panel">Size, colour, price range and more filters</div>
<ul id="news"></ul><div class="grid">{cards}</div>
<script>
  let tick = 0;
  setInterval(() => {{ document.getElementById("clock").textContent = new Date().toISOString(); }}, 250);
  setInterval(() => {{
    for (let k = 0; k < 5; k++) {{
      const card = document.getElementById("c" + ((tick * 5 + k) % 600));
      card.querySelector(".price").textContent = (10 + Math.random() * 90).toFixed(2) + " EUR";
      card.classList.toggle("hot");
    }}
    tick++;
  }}, 1000);
  setInterval(() => {{
    const li = document.createElement("li");
    li.textContent = "Someone just bought product " + (tick % 600);
    document.getElementById("news").prepend(li);
  }}, 2000);
  const panel = document.getElementById("panel");
  document.getElementById("toggle").addEventListener("click", () => panel.classList.toggle("open"));
</script>{tag}</body></html>""".encode()


def serve_shop(api: str, key: str) -> AbstractContextManager[str]:
    """The shop at /plain (tracker alone) and /recorded (data-record="on"); yields the site's base URL."""
    pages = {
        "/plain": _shop(f'<script src="{api}/tracker.js" data-key="{key}" defer></script>'),
        "/recorded": _shop(
            f'<script src="{api}/tracker.js" data-key="{key}" data-record="on" defer></script>'
        ),
    }
    return serving_html(lambda path: pages.get(path.partition("?")[0]))


@dataclass(frozen=True)
class Visit:
    seconds: float
    script_s: float  # ScriptDuration during the visit (after the page and its scripts were up)
    task_s: float  # TaskDuration: everything the main thread ran
    start_script_s: float  # ScriptDuration from navigation until the tracker (and recorder) were up
    snapshot: int  # bytes of recording request bodies sent until then (the first full snapshot)
    uploaded: int  # bytes of recording request bodies as sent during the visit (and its final flush)
    requests: int
    stored_snapshot: int  # bytes of JSON the server stored (decoded) until then
    stored: int  # and during the visit


def _metrics(client: object) -> dict[str, float]:
    answer = client.send("Performance.getMetrics")  # type: ignore[attr-defined]
    return {m["name"]: m["value"] for m in answer["metrics"]}


def _visit(page: Page, url: str, database_url: str, recorded: bool, seconds: float) -> Visit:
    """Opens ``url`` and plays the visitor for ``seconds``; the main thread's time and the uploads."""
    client = page.context.new_cdp_session(page)
    client.send("Performance.enable")
    bodies: list[int] = []  # sizes of the recording requests' bodies, in order

    def on_request(request: object) -> None:
        if request.method == "POST" and request.url.endswith("/rest/v1/recordings"):  # type: ignore[attr-defined]
            bodies.append(len(request.post_data_buffer or b""))  # type: ignore[attr-defined]

    page.on("request", on_request)
    page.goto(url)
    page.wait_for_function(RECORDING_UP if recorded else "() => window.__heatmaps !== undefined")
    page.wait_for_timeout(1000)  # the first snapshot's upload is on its way
    start = _metrics(client)
    at_start = len(bodies)
    session = page.evaluate("() => sessionStorage.getItem('hm_sid')")
    stored_at_start = _stored(database_url, session)
    began = time.monotonic()
    step = 0
    while (elapsed := time.monotonic() - began) < seconds:
        angle = step * 0.07
        page.mouse.move(640 + 500 * math.sin(angle), 400 + 300 * math.sin(2 * angle))
        if step % 40 == 39:  # every 2 s
            page.mouse.wheel(0, 600 if (step // 40) % 4 < 2 else -600)
        if step % 100 == 99:  # every 5 s
            page.click("#toggle")
        if step % 200 == 199:  # every 10 s
            page.click("#search")
            page.keyboard.type("red shoes", delay=30)
        step += 1
        time.sleep(max(0.0, MOVE_EVERY_S * step - (time.monotonic() - began)))
    end = _metrics(client)
    if recorded:
        page.evaluate("() => window.__heatmaps.recording.flush()")
        page.wait_for_timeout(1000)  # the last chunk lands
    page.remove_listener("request", on_request)
    return Visit(
        seconds=elapsed,
        script_s=end["ScriptDuration"] - start["ScriptDuration"],
        task_s=end["TaskDuration"] - start["TaskDuration"],
        start_script_s=start["ScriptDuration"],
        snapshot=sum(bodies[:at_start]),
        uploaded=sum(bodies[at_start:]),
        requests=len(bodies) - at_start,
        stored_snapshot=stored_at_start,
        stored=_stored(database_url, session) - stored_at_start,
    )


def _stored(database_url: str, session: str) -> int:
    """Bytes of JSON stored for ``session`` so far (decoded, what the cap counts)."""
    chunks = recording_chunks.c
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(select(func.sum(chunks.decoded_size)).where(chunks.session_id == session))
    finally:
        engine.dispose()
    return int(total or 0)


def sizes() -> None:
    script = recorder_script()
    bundle = RRWEB_RECORD_BUNDLE.read_bytes()
    glue = RECORDER_GLUE.read_bytes()
    tracker = TRACKER.read_bytes()
    print("script sizes (raw / gzip -9):")
    for name, data in (
        ("/tracker.js", tracker),
        ("/tracker-record.js", script),
        (f"  of which @rrweb/record {RRWEB_RECORD_VERSION}", bundle),
        ("  of which the glue (tracker/record.js)", glue),
    ):
        print(f"  {name:36} {len(data) / 1024:7.1f} KiB / {len(gzip.compress(data, 9)) / 1024:6.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each visit")
    parser.add_argument("--runs", type=int, default=2, help="visits with and without recording")
    args = parser.parse_args()
    sizes()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'recorder.db'}"
        upgrade(url)
        ingest, _ = make_tokens(url)
        with (
            ApiServer(url, Path(tmp)) as api,
            serve_shop(api.base, ingest) as site,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            visits: dict[bool, list[Visit]] = {False: [], True: []}
            for run in range(args.runs):
                for recorded in (False, True):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    address = f"{site}/{'recorded' if recorded else 'plain'}"
                    visit = _visit(page, address, url, recorded, args.seconds)
                    context.close()
                    visits[recorded].append(visit)
                    _print_visit(run, recorded, visit)
            browser.close()

    summary(visits, args.runs, args.seconds)


def _print_visit(run: int, recorded: bool, visit: Visit) -> None:
    per_min = 60 / visit.seconds
    script, tasks = visit.script_s * per_min * 1000, visit.task_s * per_min * 1000
    kind = "recorded" if recorded else "tracker only"
    print(
        f"  run {run + 1} {kind:12} script {script:6.0f} ms/min, tasks {tasks:6.0f} ms/min,"
        f" until up {visit.start_script_s * 1000:4.0f} ms; first snapshot {visit.snapshot / 1024:5.1f} KiB,"
        f" then {visit.uploaded * per_min / 1024:6.1f} KiB/min, {visit.requests * per_min:4.1f} requests/min"
    )


def summary(visits: dict[bool, list[Visit]], runs: int, seconds: float) -> None:
    def per_minute(recorded: bool, field: str) -> float:
        return statistics.median(getattr(v, field) * 60 / v.seconds for v in visits[recorded])

    def once(recorded: bool, field: str) -> float:
        return statistics.median(getattr(v, field) for v in visits[recorded])

    print(f"busy page, {runs} visits of {seconds:.0f} s each way (median):")
    print(f"  first snapshot uploaded  {once(True, 'snapshot') / 1024:8.1f} KiB")
    print(
        f"  uploaded afterwards      {per_minute(True, 'uploaded') / 1024:8.1f} KiB/minute (bodies as sent)"
    )
    print(f"  recording requests       {per_minute(True, 'requests'):8.1f} per minute")
    snapshot, stored = once(True, "stored_snapshot"), per_minute(True, "stored")
    minutes = (20 * 1024 * 1024 - snapshot) / stored
    print(f"  stored by the server     {snapshot / 1024:8.1f} KiB of JSON for the first snapshot, then")
    print(f"{'':27}{stored / 1024:8.1f} KiB/minute: 20 MiB (the default cap) is {minutes:.0f} minutes")
    for field, label in (("script_s", "script time"), ("task_s", "main-thread tasks")):
        plain, rec = per_minute(False, field) * 1000, per_minute(True, field) * 1000
        print(
            f"  {label:18} tracker only {plain:6.0f} ms/min, recorded {rec:6.0f} ms/min: {rec - plain:+.0f}"
        )
    plain, rec = once(False, "start_script_s") * 1000, once(True, "start_script_s") * 1000
    print(
        f"  script until up    tracker only {plain:6.0f} ms, recorded {rec:6.0f} ms (with the first snapshot)"
    )


if __name__ == "__main__":
    main()
