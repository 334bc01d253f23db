"""What a page shows before any data arrived: how to send data, and a button that loads demo data."""

from __future__ import annotations

from typing import Any, Literal

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import loaders
from dashboard.context import Backend, current_access, describe_database_error
from data_layer.settings import Settings

DEMO_EVENTS = 50_000
DEMO_DAYS = 30
DEMO_SEED = 7
DataKind = Literal["web", "mobile"]


class StreamlitProgress:
    """``rich.progress``-like adapter for :func:`demo_site.loader.load_demo`, drawn with st.progress."""

    def __init__(self) -> None:
        self._bar = st.progress(0.0, text="Preparing demo data…")
        self._tasks: dict[int, list[Any]] = {}

    def add_task(self, description: str, total: float | None = None) -> int:
        task_id = len(self._tasks)
        self._tasks[task_id] = [description, total or 0, 0]
        self._draw(task_id)
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self._tasks[task_id][2] += advance
        self._draw(task_id)

    def _draw(self, task_id: int) -> None:
        description, total, done = self._tasks[task_id]
        share = min(1.0, done / total) if total else 0.0
        self._bar.progress(share, text=f"Loading {description}: {int(done):,} of {int(total):,}")


def tracker_snippet(settings: Settings) -> str:
    api = settings.api_url.rstrip("/")
    return f'<script src="{api}/tracker.js" data-key="TOKEN" defer></script>'


def rest_example(settings: Settings) -> str:
    api = settings.api_url.rstrip("/")
    return (
        f"curl -X POST {api}/rest/v1/events \\\n"
        '  -H "Authorization: Bearer TOKEN" -H "Content-Type: application/json" \\\n'
        '  -d \'{"events": [{"type": "click", "timestamp": "2026-04-10T12:00:00Z",\n'
        '       "sessionId": "s1", "visitorId": "v1", "url": "https://example.com/pricing",\n'
        '       "viewportWidth": 1280, "viewportHeight": 800, "documentWidth": 1280,\n'
        '       "documentHeight": 4000, "x": 640, "y": 320, "selector": "button.buy"}]}\''
    )


def _load_demo(backend: Backend) -> None:
    from demo_site.loader import load_demo

    progress = StreamlitProgress()
    try:
        summary = load_demo(
            backend.engine,
            backend.settings,
            events=DEMO_EVENTS,
            days=DEMO_DAYS,
            seed=DEMO_SEED,
            progress=progress,
        )
    except SQLAlchemyError as exc:
        st.error(describe_database_error(exc))
        return
    st.session_state["_heatmaps_demo_summary"] = summary
    loaders.remember_data_version(backend)
    st.rerun()


def render_onboarding(backend: Backend, kind: DataKind) -> None:
    """Explain how to send data of ``kind`` and offer demo data."""
    settings = backend.settings
    if kind == "web":
        st.info("No web events yet. Send some with any of these, or load the demo site below.")
        tracker, api, cli = st.tabs(["Tracker snippet", "REST API", "Command line"])
        with tracker:
            st.markdown(
                "Create an ingest-only key (safe to embed in public pages) with "
                "`heatmaps keys create --user website`, then add this to every page, replacing `TOKEN`:"
            )
            st.code(tracker_snippet(settings), language="html")
        with api:
            st.markdown("Send batches of 1-500 events with any token:")
            st.code(rest_example(settings), language="bash")
        with cli:
            st.markdown("Load NDJSON or a JSON array of WebEvents from a file (validated like the API):")
            st.code("heatmaps ingest events.ndjson", language="bash")
    else:
        st.info(
            "No mobile touch events yet. Apps send them with `IngestTouchEvents` of the HeatmapService "
            f"(`POST {settings.api_url.rstrip('/')}/heatmap.v1.HeatmapService/IngestTouchEvents`, "
            "Connect JSON, any token), or load the demo app below."
        )
    st.markdown(
        f"**Demo data**: a realistic shop site and app, {DEMO_EVENTS:,} web events over {DEMO_DAYS} days "
        "with rage and dead clicks, scroll depth, screenshots, campaigns, an A/B test's variants, saved page "
        "groups and mobile taps. Loading twice adds nothing."
    )
    allowed = current_access().can_manage
    if st.button(
        "Load demo data", type="primary", icon=":material/download:", disabled=not allowed, key="load_demo"
    ):
        _load_demo(backend)
    if not allowed:
        st.caption("Loading demo data needs a token with MANAGE_HEATMAPS.")


def stop_if_empty(backend: Backend, kind: DataKind) -> None:
    """Show the onboarding and stop the page when no event of ``kind`` is stored."""
    summary = st.session_state.pop("_heatmaps_demo_summary", None)
    if summary:
        st.toast(summary.capitalize(), icon=":material/check_circle:")
    version = loaders.data_version(backend)
    web_days, touch_days = loaders.day_ranges(backend, backend.key, version)
    if (web_days if kind == "web" else touch_days) is None:
        render_onboarding(backend, kind)
        st.stop()
