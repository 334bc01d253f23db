"""Session replay: a session's recording in rrweb's player, and its clicks and scrolls on a page in time
order (the click path, the only view of a session without a recording). Opened by replay links.

The URL holds the view's state. A replay URL carries ``sessionId``, ``visitorId`` and ``date`` (the UTC
day of the session's first event on the page); the dashboard's own links also carry ``pageKey`` and, for
a hotspot's sessions, ``at`` (the click, ms since 1970). Without ``pageKey`` the page picker defaults to
the page with most of the session's events; without ``at`` the player starts a few seconds before that
page's first rage or dead click (else its first click). Picking an event beside the player sets ``at``;
``view`` chooses between the recording and the click path.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from dashboard import context, empty, filters, loaders
from dashboard.cartesian_chart import cartesian_chart
from dashboard.context import Backend
from dashboard.figures import Canvas, ReplayMark, scroll_timeline, session_replay
from dashboard.formatting import count, escape_markdown, escape_plotly, is_web_link, to_session_page
from dashboard.recording_player import (
    LEAD_MS,
    at_param,
    click_markers,
    first_moment,
    parse_at,
    recording_player,
    start_ms,
)
from dashboard.replay import (
    breakpoints_by_events,
    cluster_clicks,
    describe_pages,
    describe_step,
    session_pages,
    timeline,
)
from dashboard.tables import PAGE_TABLE_COLUMNS, column_order, page_and_site, several_sites
from data_layer import metrics
from data_layer.breakpoints import NOMINAL_WIDTH_PX
from data_layer.filters import parse_day
from data_layer.recordings import MIB, RecordingHead
from data_layer.sessions import SessionQuery

PLAY_INTERVAL_S = 0.8
PLAYING_KEY = "_replay_playing"
RECORDED_SESSIONS_SHOWN = 25
RECORDED_COLUMNS = {
    "replay_url": st.column_config.LinkColumn("Replay", display_text="Open replay ↗"),
    "start": st.column_config.DatetimeColumn("Start (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.0f"),
    "page": st.column_config.TextColumn("First page", width="medium", help="Its path; its URL is last."),
    "site": PAGE_TABLE_COLUMNS["site"],
    "page_count": st.column_config.NumberColumn("Pages"),
    "clicks": st.column_config.NumberColumn("Clicks"),
    "rage_events": st.column_config.NumberColumn("Rage events"),
    "dead_clicks": st.column_config.NumberColumn("Dead clicks"),
    "country": st.column_config.TextColumn("Country"),
    "browser": st.column_config.TextColumn("Browser"),
    "page_key": st.column_config.TextColumn("First page URL"),
}
BESIDE_PLAYER_COLUMNS = {  # a narrower column: the event first
    "what": st.column_config.TextColumn("Event", width="medium"),
    "selector": st.column_config.TextColumn("Element", width="small"),
}
RECORDING, CLICK_PATH = "Recording", "Click path"
VIEWS = [RECORDING, CLICK_PATH]
EVENT_COLUMNS = {
    "step": st.column_config.NumberColumn("Step", width="small"),
    "in_recording": st.column_config.NumberColumn(
        "In recording (s)", format="%.1f", width="small", help="Seconds since the recording's start."
    ),
    "seconds": st.column_config.NumberColumn("Time (s)", format="%.1f", width="small"),
    "what": st.column_config.TextColumn("Event"),
    "selector": st.column_config.TextColumn("Element", width="large"),
    "position": st.column_config.TextColumn("Position (px)"),
}


def _ask_for_session(backend: Backend) -> None:
    st.info(
        "Open a replay from the **Heatmap** page (replay links and the sessions behind a hotspot lead "
        "here), pick a recorded session below, or enter a session id and the day it happened."
    )
    _recorded_sessions(backend)
    with st.form("open_session"):
        session_id = st.text_input("Session id")
        day = st.date_input("Day (UTC)", value=None, format="YYYY-MM-DD")
        if st.form_submit_button("Open replay") and session_id and day:
            st.query_params.update({"sessionId": session_id.strip(), "date": day.isoformat()})
            st.rerun()
    st.stop()


def _recorded_sessions(backend: Backend) -> None:
    """The newest recorded sessions in the sidebar's window and filters, each a link to its replay."""
    chosen = filters.current_filters()
    with context.explained_errors():
        query = SessionQuery(chosen.window, chosen.where, has_recording=True)
        found = loaders.sessions(backend, loaders.data_version(backend), query, RECORDED_SESSIONS_SHOWN)
    st.subheader("Recorded sessions")
    if found.is_empty():
        st.caption(
            f"No recorded session for {escape_markdown(chosen.describe())}. Sessions are recorded when the "
            'tracker\'s tag says `data-record="on"`.'
        )
        return
    template, dashboard_url = backend.settings.replay_template(), backend.settings.dashboard_url
    links = [
        to_session_page(
            metrics.replay_url(template, session_id, visitor_id, start.date().isoformat()), dashboard_url
        )
        for session_id, visitor_id, start in found.select("session_id", "visitor_id", "start").iter_rows()
    ]
    table = found.select(
        "start",
        (pl.col("duration_ms") / 1000).alias("duration_s"),
        *page_and_site(pl.col("pages").list.first()),
        pl.col("pages").list.first().alias("page_key"),
        pl.col("pages").list.len().alias("page_count"),
        "clicks",
        "rage_events",
        "dead_clicks",
        "country",
        "browser",
        pl.Series("replay_url", [url if is_web_link(url) else None for url in links], dtype=pl.String),
    )
    st.dataframe(
        table,
        column_config=RECORDED_COLUMNS,
        column_order=column_order(RECORDED_COLUMNS, with_site=several_sites(table)),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"The {RECORDED_SESSIONS_SHOWN} newest with events in {escape_markdown(chosen.describe())} (UTC), "
        "as the sidebar filters them; `GET /rest/v1/sessions?hasRecording=true` lists them all."
    )


def _canvas(backend: Backend, page_key: str, breakpoint: str, steps: pl.DataFrame) -> Canvas:
    version = loaders.data_version(backend)
    width = float(steps["document_width"].median() or NOMINAL_WIDTH_PX.get(breakpoint, 1280))
    shot = loaders.latest_page_screenshot(backend, backend.key, version, page_key, breakpoint)
    image = loaders.display_screenshot(backend, backend.key, shot["sha256"]) if shot else None
    if image is not None:
        return Canvas.for_image(image, width)
    lowest = float(steps["y"].max() or 0) + 100
    return Canvas(width, max(float(steps["document_height"].max() or 0), lowest))


def _marks(steps: pl.DataFrame, upto: int) -> list[ReplayMark]:
    """The clicks up to step ``upto``, those on the same spot merged into one numbered marker."""
    clicks = steps.filter(
        (pl.col("event_type") == "click") & (pl.col("step") <= upto) & pl.col("x").is_not_null()
    ).to_dicts()
    return [
        ReplayMark(
            numbers=tuple(int(click["click_number"]) for click in group),
            x=float(group[0]["x"]),
            y=float(group[0]["y"]),
            dead=any(click["dead"] for click in group),
            rage=any(click["rage"] for click in group),
            text="<br>".join(
                f"<b>{escape_plotly(describe_step(click))}</b> at {click['seconds']:.1f} s · "
                + escape_plotly(click["selector"] or "no selector recorded")
                for click in group
            ),
        )
        for group in cluster_clicks(clicks)
    ]


def _seen_to(row: dict[str, Any]) -> float:
    """Deepest page px the visitor had seen at this step: the reported depth, at least the first screen."""
    depth_px = float(row["deepest"]) / 100 * float(row["document_height"])
    return max(depth_px, float(row["viewport_height"]))


def _view(canvas: Canvas, row: dict[str, Any], screen: float) -> tuple[float, float]:
    """One screen of the page at the current step: centred on its click, or ending at the deepest point
    seen after a scroll (where the visitor's viewport was)."""
    if row["event_type"] == "click" and row["y"] is not None:
        top = float(row["y"]) - screen / 2
    else:
        top = _seen_to(row) - screen
    top = min(max(0.0, top), max(0.0, canvas.height - screen))
    return top, min(canvas.height, top + screen)


def _start_playing(step_key: str, total: int) -> None:
    """Play from the first step (from the current one when paused midway)."""
    if int(st.session_state.get(step_key, total)) >= total:
        st.session_state[step_key] = 1
    st.session_state[PLAYING_KEY] = True


def _stop_playing() -> None:
    st.session_state[PLAYING_KEY] = False


def replay_panel(
    backend: Backend, page_key: str, breakpoint: str, steps: pl.DataFrame, step_key: str
) -> None:
    """Step slider (advanced by Play), the numbered clicks on the page, scroll depth over time.

    Run as a fragment, every 0.8 s while playing; at the last step playing stops with a full rerun,
    which drops the timer.
    """
    total = steps.height
    if st.session_state.get(PLAYING_KEY):
        current = int(st.session_state.get(step_key, total))
        if current >= total:
            st.session_state[PLAYING_KEY] = False
            st.rerun(scope="app")
        st.session_state[step_key] = current + 1
    # The start (the last step) goes through the widget's state, not a default value: Play and the
    # timer set that state, and a widget given both makes Streamlit log a warning.
    st.session_state.setdefault(step_key, total)
    step = st.slider("Step", 1, total, key=step_key, help="Drag to go through the session event by event.")
    row = steps.row(step - 1, named=True)
    st.markdown(
        f"**Step {step} of {total}** · {row['seconds']:.1f} s · {escape_markdown(describe_step(row))}"
    )
    canvas = _canvas(backend, page_key, breakpoint, steps)
    screen = float(steps["viewport_height"].median() or 900) * 1.2
    whole = st.toggle("Whole page", key="replay_whole", help="Off: follow the visitor one screen at a time.")
    view = (0.0, canvas.height) if whole else _view(canvas, row, min(screen, canvas.height))
    figure = session_replay(
        _marks(steps, step), canvas=canvas, current=row["click_number"], seen_to=_seen_to(row), view=view
    )
    with st.container(height=720 if whole else "content", border=whole):
        cartesian_chart(figure, key="replay_chart", width="stretch")
    st.caption(
        "Numbers are clicks in time order (clicks on one spot share a marker, e.g. 4-7). :red[Red]: part "
        "of a rage event. Grey: dead click. Blue: other clicks. Below the dashed line: the part of the page "
        "the visitor had not seen yet."
    )
    scrolls = steps.filter(pl.col("event_type") == "scroll")
    clicks = steps.filter(pl.col("event_type") == "click")
    cartesian_chart(
        scroll_timeline(
            [0.0, *scrolls["seconds"].to_list(), float(steps["seconds"].max())],
            [0.0, *scrolls["deepest"].to_list(), float(steps["deepest"].max())],
            clicks["seconds"].to_list(),
            current=float(row["seconds"]),
        ),
        key="scroll_timeline",
        width="stretch",
    )


def _linked_moment(text: str | None) -> datetime | None:
    """The link's ``at`` (the moment of interest, naive UTC); a garbled one is named and ignored."""
    if not text:
        return None
    try:
        return parse_at(text)
    except ValueError as exc:
        st.warning(f"Ignored the link's time: {escape_markdown(str(exc))}.")
        return None


def _forget_linked_moment() -> None:
    """Another page chosen: the link's moment was on the page before, the player goes to this one."""
    st.query_params.pop("at", None)


def _play_from(table_key: str, moments: list[datetime]) -> None:
    """An event picked in the table: the link (and the player) go to it."""
    rows = st.session_state[table_key]["selection"]["rows"]
    if rows and 0 <= rows[0] < len(moments):
        st.query_params["at"] = at_param(moments[rows[0]])


def _player(backend: Backend, head: RecordingHead, events: pl.DataFrame, start: int | None) -> None:
    recording_player(
        head,
        markers=click_markers(events),
        start_ms=start,
        sources=backend.settings.replay_resource_sources,
        key="recording_player",
    )
    notes = []
    if head.truncated:
        notes.append(
            f"This recording holds {head.recorded_size / MIB:.1f} MiB of events; the player shows its first "
            f"{head.size / MIB:.1f} MiB ({(head.end_ms - head.start_ms) / 1000:.0f} s of "
            f"{(head.recorded_end_ms - head.start_ms) / 1000:.0f} s); the API's "
            "`GET /rest/v1/sessions/{sessionId}/recording` returns all of it."
        )
    if not backend.settings.replay_resource_sources:
        notes.append(
            "Images, external stylesheets and web fonts of the recorded site are not loaded (its text was "
            "masked when recorded): list its origins in `HEATMAPS_REPLAY_RESOURCE_ORIGINS` to see them."
        )
    for note in notes:
        st.caption(note)


def _start_note(moment: datetime | None, page_view: pl.DataFrame) -> str:
    lead = f"{LEAD_MS / 1000:.0f} s"
    if moment is not None:
        return f"The player waits {lead} before the linked moment ({moment:%H:%M:%S} UTC): press play."
    flagged = page_view.filter(
        (pl.col("event_type") == "click")
        & (pl.col("rage_start").fill_null(False) | pl.col("dead").fill_null(False))
    )
    what = "first rage or dead click" if not flagged.is_empty() else "first click"
    if page_view.filter(pl.col("event_type") == "click").is_empty():
        what = "first event"
    return f"The player waits {lead} before this page's {what}: press play, or pick an event beside it."


def _events_table(
    steps: pl.DataFrame, page_view: pl.DataFrame, recording_start: int | None, *, key: str, selectable: bool
) -> None:
    """The page view's events; beside a recording, with their time in it (a picked one plays from there)."""
    table = steps.select(
        "step",
        "seconds",
        pl.Series("what", [describe_step(row) for row in steps.iter_rows(named=True)], dtype=pl.String),
        pl.col("selector").fill_null(""),
        pl.when(pl.col("event_type") == "click")
        .then(pl.format("{}, {}", pl.col("x").round(0), pl.col("y").round(0)))
        .otherwise(pl.lit(""))
        .alias("position"),
    )
    if recording_start is not None:
        since = (page_view["ts"].dt.epoch("ms") - recording_start) / 1000
        table = table.insert_column(1, since.alias("in_recording"))
    if not selectable:
        st.dataframe(table, column_config=EVENT_COLUMNS, hide_index=True, width="stretch")
        return
    st.dataframe(
        table,
        column_config={**EVENT_COLUMNS, **BESIDE_PLAYER_COLUMNS},
        column_order=["in_recording", "what", "selector"],
        hide_index=True,
        width="stretch",
        height=480 if table.height > 12 else "auto",
        key=key,
        on_select=partial(_play_from, key, page_view["ts"].to_list()),
        selection_mode="single-row",
    )
    st.caption("Pick an event to play from a few seconds before it.")


backend = context.page_backend()
st.title("Session replay")
empty.stop_if_empty(backend, "web")
params = st.query_params
session_id = params.get("sessionId", "").strip()
if not session_id:
    _ask_for_session(backend)
with context.explained_errors():
    day: date = parse_day("date", params.get("date") or None)
visitor_id = params.get("visitorId", "").strip() or None
version = loaders.data_version(backend)
with context.explained_errors():
    events = loaders.session_events(backend, backend.key, version, session_id, day, visitor_id)
    head = loaders.recording_head(backend, session_id)
if head is not None and visitor_id and head.visitor_id != visitor_id:
    head = None  # the session id of another visitor's recording
moment = _linked_moment(params.get("at"))
st.caption(
    f"Session **{escape_markdown(session_id)}**"
    + (f" · visitor **{escape_markdown(visitor_id)}**" if visitor_id else "")
    + f" · from {day:%Y-%m-%d} (UTC)"
    + (" · recorded" if head is not None else "")
)
if events.is_empty():
    if head is None:
        st.info(
            f"No events of this session on {day:%Y-%m-%d} or the day after. The data may have been purged "
            "(retention) or erased, or the link comes from another installation."
        )
        st.stop()
    st.info(
        f"No clicks or scrolls of this session on {day:%Y-%m-%d} or the day after (check the link's date): "
        "the recording plays without markers."
    )
    _player(backend, head, events, start_ms(moment))
    st.stop()

pages = session_pages(events)
pickers = st.columns([4, 2], vertical_alignment="bottom")
page_key = pickers[0].selectbox(
    "Page",
    pages["page_key"].to_list(),
    key="pageKey",
    bind="query-params",
    on_change=_forget_linked_moment,
    help="Pages this session visited, the one with most events first.",
)
on_page = events.filter(pl.col("page_key") == page_key)
breakpoints = breakpoints_by_events(on_page)
breakpoint = breakpoints[0]
if len(breakpoints) > 1:
    breakpoint = pickers[1].segmented_control("Breakpoint", breakpoints, default=breakpoints[0], key="sbp")
    breakpoint = breakpoint or breakpoints[0]
else:
    pickers[1].caption(f"Breakpoint: **{breakpoint}**")
st.caption(f"Events per page in this session: {escape_markdown(describe_pages(pages))}")
page_view = on_page.filter(pl.col("breakpoint") == breakpoint).sort(["ts", "seq"])
steps = timeline(page_view)
# One slider per page view: its range differs, and going back to a page keeps its position.
step_key = f"step:{page_key}:{breakpoint}"

clicks = steps.filter(pl.col("event_type") == "click")
numbers = st.columns(5)
numbers[0].metric("Clicks", count(clicks.height), border=True)
numbers[1].metric("Rage events", count(clicks["rage_run"].drop_nulls().n_unique()), border=True)
numbers[2].metric("Dead clicks", count(int(clicks["dead"].sum())), border=True)
numbers[3].metric("Deepest scroll", f"{float(steps['deepest'].max() or 0):.0f} %", border=True)
numbers[4].metric("Duration", f"{float(steps['seconds'].max() or 0):.0f} s", border=True)

view = CLICK_PATH
if head is not None:
    view = (
        st.segmented_control(
            "View",
            VIEWS,
            default=RECORDING,
            key="view",
            bind="query-params",
            help="Recording: what the visitor saw, replayed. Click path: the page view's clicks and scrolls "
            "over the page's screenshot, step by step.",
        )
        or RECORDING
    )
else:
    st.caption(
        "No recording of this session: the click path below replays its clicks and scrolls over the page's "
        'screenshot. Sessions are recorded when the tracker\'s tag says `data-record="on"`.'
    )

if view == RECORDING and head is not None:
    player, beside = st.columns([3, 2])
    with player:
        start = start_ms(moment or first_moment(page_view))
        _player(backend, head, events, start)
        st.caption(_start_note(moment, page_view))
    with beside:
        _events_table(steps, page_view, head.start_ms, key=f"events:{page_key}:{breakpoint}", selectable=True)
    st.stop()

controls = st.columns([1, 1, 6])
controls[0].button(
    "Play", icon=":material/play_arrow:", on_click=_start_playing, args=(step_key, steps.height)
)
controls[1].button("Pause", icon=":material/pause:", on_click=_stop_playing)
playing = bool(st.session_state.get(PLAYING_KEY))
st.fragment(replay_panel, run_every=PLAY_INTERVAL_S if playing else None)(
    backend, page_key, breakpoint, steps, step_key
)

with st.expander("All events of this page view", expanded=False):
    _events_table(
        steps, page_view, head.start_ms if head else None, key="click_path_events", selectable=False
    )
