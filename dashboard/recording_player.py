"""A session's recording played with rrweb's player in a Streamlit component (CONTRACT 13, Dashboard).

The player is ``rrweb-player`` (MIT), vendored in ``static/`` as published (its version and the files'
digests are named once, below, and a test holds the files to them) and loaded from the app's own
``app/static/`` once per tab, like :mod:`dashboard.cartesian_chart` loads Plotly: nothing comes from a
CDN. Upgrading means ``npm pack rrweb-player@<new>``, copying its ``umd/rrweb-player.min.js`` and
``dist/style.min.css`` here under the new names with the licence notice, and changing the constants.

What goes to the browser is bounded: the recording's first chunks holding at most
:data:`DISPLAY_LIMIT_BYTES` of events (a session's cap, ``HEATMAPS_RECORDING_MAX_MB``, may be set far
higher), sent as they are stored (zlib, base64 in the component's JSON: about a tenth of the events'
size) and inflated in the browser (``DecompressionStream``). Above the limit the player shows the part
that fits and the page says so.

The recorded page is rebuilt by rrweb inside its sandboxed iframe (``sandbox="allow-same-origin"``: no
script of the recording ever runs, rrweb's default, kept). Before anything is rebuilt, the component puts
a Content-Security-Policy in that iframe's document (it outlives every rebuild, which reopens the same
document): nothing is fetched but images, stylesheets, fonts and media from the origins of
``HEATMAPS_REPLAY_RESOURCE_ORIGINS`` (none by default; ``*`` = any http(s) origin) and ``data:``/``blob:``
URLs. A recording, which anyone with the public ingest key can upload, so cannot make the dashboard's
browser call another host.

Markers on the player's timeline are the session's clicks, rage clicks and dead clicks from the event
store (the server's verdicts, not the recording's), placed by their timestamps: the tracker and the
recorder run in the same browser, so both carry its clock. rrweb-player draws custom events (type 5)
on its timeline, so each marker becomes one.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import streamlit as st

from data_layer.recordings import MIB, RecordingHead

RRWEB_PLAYER_VERSION = "2.1.7"
RRWEB_PLAYER_JS = f"rrweb-player-{RRWEB_PLAYER_VERSION}.min.js"
RRWEB_PLAYER_CSS = f"rrweb-player-{RRWEB_PLAYER_VERSION}.min.css"
RRWEB_PLAYER_LICENSE = f"rrweb-player-{RRWEB_PLAYER_VERSION}.LICENSE.txt"
RRWEB_PLAYER_SHA256 = {
    RRWEB_PLAYER_JS: "9015abec2bf35c6b990c84c1750a950f99479b06446bdec20ad139b98a5ccdfe",
    RRWEB_PLAYER_CSS: "ce5e96298e20e7262e317ef8d51aacd8e75cd14cfa66aaff43ceecbb7a3e132a",
}
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

DISPLAY_LIMIT_BYTES = 32 * MIB
"""Decoded events handed to one player; beyond, the recording's first chunks up to this size."""
LEAD_MS = 3000
"""A link to a click starts the player this long before it."""
MAX_MARKERS = 2000
"""Markers on the timeline at most (rage and dead clicks first)."""
MARKER_KINDS = ("rage", "dead", "click")
EPOCH = datetime(1970, 1, 1)

COMPONENT_JS = """
const TAGS = { click: "click", rage: "rage click", dead: "dead click" };
const COLOURS = { click: "#2563eb", "rage click": "#dc2626", "dead click": "#6b7280" };
const RESIZE_SLACK_PX = 24;

function loadPlayer(url) {
  if (!window.__heatmapsRrwebPlayer) {
    window.__heatmapsRrwebPlayer = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL(url, document.baseURI).href;
      const fail = () => {
        window.__heatmapsRrwebPlayer = undefined;  // a later render tries again
        script.remove();
        reject(new Error("The replay player could not be loaded from " + script.src));
      };
      const loaded = () => window.rrwebPlayer && (window.rrwebPlayer.default || window.rrwebPlayer);
      script.onload = () => (loaded() ? resolve(loaded()) : fail());
      script.onerror = fail;
      document.head.appendChild(script);
    });
  }
  return window.__heatmapsRrwebPlayer;
}

function loadStyle(url) {
  if (document.querySelector("link[data-heatmaps-rrweb-player]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL(url, document.baseURI).href;
  link.dataset.heatmapsRrwebPlayer = "";
  document.head.appendChild(link);
}

// A stored chunk: zlib-compressed JSON array of rrweb events, base64 in the component's data.
async function inflate(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return JSON.parse(await new Response(stream).text());
}

async function recordedEvents(chunks) {
  const parts = await Promise.all(chunks.map(inflate));
  return [].concat(...parts).sort((a, b) => a.timestamp - b.timestamp);  // stable: same-ms order kept
}

// Markers as rrweb custom events, which rrweb-player draws on its timeline. Only those within the
// recording: one before its first event would move the replay's start.
function withMarkers(events, markers) {
  const first = events[0].timestamp, last = events[events.length - 1].timestamp;
  const custom = markers
    .filter((marker) => marker.at >= first && marker.at <= last && TAGS[marker.kind])
    .map((marker) => ({ type: 5, timestamp: marker.at, data: { tag: TAGS[marker.kind], payload: {} } }));
  return [...events, ...custom].sort((a, b) => a.timestamp - b.timestamp);
}

// The replay's iframe gets a Content-Security-Policy before rrweb rebuilds anything in it: rebuilding
// reopens the same document, whose policy stays. Scripts stay off (rrweb's sandbox); only images,
// stylesheets, fonts and media of the allowed origins (and data:/blob: URLs) load.
function lockDown(replayer, sources) {
  const doc = replayer.iframe.contentDocument;
  const allowed = sources.join(" ");
  const meta = doc.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content =
    `default-src 'none'; img-src data: blob: ${allowed}; style-src 'unsafe-inline' ${allowed}; ` +
    `font-src data: ${allowed}; media-src data: blob: ${allowed}`;
  (doc.head || doc.documentElement).appendChild(meta);
}

function frameSize(root, events) {
  const meta = events.find((event) => event.type === 4 && event.data && event.data.width);
  const width = Math.max(320, Math.floor(root.clientWidth || 800));
  const ratio = meta && meta.data.height ? meta.data.height / meta.data.width : 0.625;
  return { width, height: Math.round(Math.min(Math.max(width * ratio, 240), 640)) };
}

// Where a start (ms since 1970, null = the beginning) lies in the replay, clamped to it.
function seek(state) {
  const { player, first, total, start } = state;
  const offset = start === null ? 0 : Math.max(0, Math.min(start - first, total));
  player.goto(offset, false);
}

function dispose(root) {
  const state = root.__heatmaps;
  root.__heatmaps = undefined;
  root.__loading = undefined;
  if (!state) return;
  if (state.observer) state.observer.disconnect();
  try {
    state.player.pause();
    state.player.$destroy();
  } catch (error) {
    // already gone
  }
  root.replaceChildren();
}

export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".recording-player");
  const message = parentElement.querySelector(".recording-player-error");
  const current = root.__heatmaps;
  if (current && current.digest === data.digest) {
    // A rerun with the same recording: the player keeps playing unless the start moved.
    if (current.start !== data.start) {
      current.start = data.start;
      seek(current);
    }
    return () => dispose(root);
  }
  if (root.__loading === data.digest) return () => dispose(root);
  dispose(root);
  root.__loading = data.digest;
  loadStyle(data.css);
  Promise.all([loadPlayer(data.js), recordedEvents(data.chunks)])
    .then(([Player, recorded]) => {
      if (root.__loading !== data.digest) return;  // replaced or unmounted meanwhile
      root.__loading = undefined;
      if (recorded.length < 2) throw new Error("This recording holds too few events to replay.");
      const events = withMarkers(recorded, data.markers);
      const size = frameSize(root, events);
      const player = new Player({
        target: root,
        props: {
          events, ...size, autoPlay: false, skipInactive: true, speedOption: [1, 2, 4, 8], tags: COLOURS,
        },
      });
      lockDown(player.getReplayer(), data.sources);
      const meta = player.getMetaData();
      const state = {
        digest: data.digest, player, first: meta.startTime, total: meta.totalTime, start: data.start,
        width: size.width,
      };
      state.observer = new ResizeObserver(() => {
        const next = frameSize(root, events);
        if (Math.abs(next.width - state.width) <= RESIZE_SLACK_PX) return;
        state.width = next.width;
        player.$set(next);
        player.triggerResize();
      });
      state.observer.observe(root);
      root.__heatmaps = state;
      message.textContent = "";
      seek(state);
    })
    .catch((error) => {
      if (root.__loading === data.digest) root.__loading = undefined;
      message.textContent = String(error && error.message ? error.message : error);
    });
  return () => dispose(root);
}
"""

COMPONENT_CSS = """
.recording-player-error:empty { display: none; }
.recording-player-error { color: #b91c1c; }
.recording-player { display: flow-root; }  /* rrweb-player floats its player */
.recording-player .rr-player { box-shadow: none; border: 1px solid #e5e7eb; border-radius: 6px; }
.recording-player .rr-progress > div[title$="click"] {
  width: 4px !important; height: 14px !important; top: 50% !important; border-radius: 1px;
}
.recording-player-legend { display: flex; gap: 1rem; font-size: 0.8rem; color: #4b5563; margin-top: 0.3rem; }
.recording-player-legend i { display: inline-block; width: 4px; height: 12px; margin-right: 0.35rem; }
"""

COMPONENT_HTML = (
    '<div class="recording-player"></div>'
    '<div class="recording-player-legend">'
    '<span><i style="background:#2563eb"></i>click</span>'
    '<span><i style="background:#dc2626"></i>rage click</span>'
    '<span><i style="background:#6b7280"></i>dead click</span>'
    "</div>"
    '<div class="recording-player-error" role="alert"></div>'
)

# Not style-isolated: rrweb-player's stylesheet goes in the document head, as it expects.
_player = st.components.v2.component(
    "recording_player", html=COMPONENT_HTML, css=COMPONENT_CSS, js=COMPONENT_JS, isolate_styles=False
)


def recording_player(
    head: RecordingHead,
    *,
    markers: pl.DataFrame,
    start_ms: int | None,
    sources: Sequence[str],
    key: str,
) -> None:
    """Play ``head`` with rrweb-player: play/pause, speed 1x/2x/4x/8x, skip inactivity, and a timeline
    with ``markers`` (:func:`click_markers`; those outside the recording are left out).

    ``start_ms`` (ms since 1970 UTC, None = the recording's start) is where the player waits, paused,
    clamped to the recording; a rerun that only moves it moves the player there, any other rerun leaves
    the player where it is. ``sources``: the CSP sources its replay may load images, stylesheets and
    fonts from (``Settings.replay_resource_sources``).
    """
    chunks = [base64.b64encode(blob).decode("ascii") for blob in head.chunks]
    marks = [{"at": at, "kind": kind} for at, kind in markers.select("at_ms", "kind").iter_rows()]
    digest = hashlib.blake2b(digest_size=12)
    for blob in head.chunks:
        digest.update(hashlib.blake2b(blob, digest_size=12).digest())
    digest.update(repr(marks).encode())
    data = {
        "js": f"app/static/{RRWEB_PLAYER_JS}",
        "css": f"app/static/{RRWEB_PLAYER_CSS}",
        "chunks": chunks,
        "markers": marks,
        "start": start_ms,
        "sources": list(sources),
        "digest": digest.hexdigest(),
    }
    _player(data=data, key=key, width="stretch")


def click_markers(events: pl.DataFrame, limit: int = MAX_MARKERS) -> pl.DataFrame:
    """The timeline's markers from a session's web events: ``at_ms`` (Int64, ms since 1970 UTC) and
    ``kind`` (``rage`` at a rage event's first click, ``dead``, ``click``), in time order.

    A rage event is one marker, at its first click: the run's other clicks add none. At most ``limit``
    markers, rage events first, then dead clicks, then the earliest clicks.
    """
    is_click = pl.col("event_type") == "click"
    rage, rage_start = pl.col("rage").fill_null(False), pl.col("rage_start").fill_null(False)
    kind = (
        pl.when(rage_start)
        .then(pl.lit("rage"))
        .when(pl.col("dead").fill_null(False))
        .then(pl.lit("dead"))
        .otherwise(pl.lit("click"))
    )
    rank = pl.col("kind").replace_strict({name: index for index, name in enumerate(MARKER_KINDS)})
    return (
        events.lazy()
        .filter(is_click & (rage_start | ~rage))
        .select(at_ms=_epoch_ms(pl.col("ts")), kind=kind)
        .sort([rank, "at_ms"])
        .head(limit)
        .sort("at_ms", maintain_order=True)
        .collect()
    )


def first_moment(on_page: pl.DataFrame) -> datetime | None:
    """Where a replay of a page view starts without a link's ``at``: its first rage or dead click, else
    its first click, else its first event (naive UTC); None without events."""
    if on_page.is_empty():
        return None
    clicks = on_page.filter(pl.col("event_type") == "click")
    flagged = clicks.filter(pl.col("rage_start").fill_null(False) | pl.col("dead").fill_null(False))
    for frame in (flagged, clicks, on_page):
        if not frame.is_empty():
            return frame["ts"].min()  # type: ignore[return-value]
    return None


def start_ms(moment: datetime | None, lead_ms: int = LEAD_MS) -> int | None:
    """The player's start for a moment of interest (naive UTC): ``lead_ms`` before it."""
    return None if moment is None else round((moment - EPOCH) / timedelta(milliseconds=1)) - lead_ms


def parse_at(text: str) -> datetime:
    """A replay link's ``at``: ms since 1970 (digits) or an ISO 8601 time (without an offset = UTC), as
    naive UTC. ValueError for anything else, or a time before 1970 or after 9999."""
    value = text.strip()
    refusal = f"at must be ms since 1970 or an ISO 8601 time, got {value[:40]!r}"
    if not value or len(value) > 40:
        raise ValueError(refusal)
    try:
        if value.isascii() and value.isdigit():
            return EPOCH + timedelta(milliseconds=int(value))
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise ValueError(refusal) from None
    if moment < EPOCH:
        raise ValueError(f"at must not be before 1970, got {value[:40]!r}")
    return moment


def at_param(moment: datetime) -> str:
    """A moment (naive UTC) as a link's ``at``: whole ms since 1970."""
    return str(round((moment - EPOCH) / timedelta(milliseconds=1)))


def _epoch_ms(column: pl.Expr) -> pl.Expr:
    return column.dt.epoch("ms").cast(pl.Int64)
