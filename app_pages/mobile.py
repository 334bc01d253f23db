"""Mobile: taps on one app screen over its newest screenshot, by event type, campaign and user.

Every number comes from the HeatmapService's QueryHeatmapData (``touch_query.query_touch_heatmap``), the
same function the Connect API serves. The sidebar's days apply; country, region and browser are web-only.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import context, empty, filters, loaders
from dashboard.cartesian_chart import cartesian_chart
from dashboard.figures import Canvas, touch_heatmap
from dashboard.formatting import count
from data_layer.touch_query import HEATMAP_MODES, TOUCH_EVENT_TYPES, TouchQuery

PHONE_CANVAS = (390, 844)
ALL_USERS = "All users"
MODE_LABELS = {"ALL_USERS": "All users together", "PER_USER": "Per user"}
TYPE_LABELS = {"TAP": "Taps", "SCROLL": "Scrolls", "ACTION_CLICK": "Action clicks"}
USER_COLUMNS = {
    "user_id": st.column_config.TextColumn("User"),
    "touch_count": st.column_config.NumberColumn("Touches", format="localized"),
    "share": st.column_config.ProgressColumn("Share", min_value=0, max_value=1, format="percent"),
}


def _query(
    screen: str, types: list[str], campaign: str | None, per_user: bool, user: str | None
) -> TouchQuery:
    window = filters.current_filters().window
    return TouchQuery.create(
        screen,
        event_types=types,
        per_user=per_user,
        user_id=user,
        campaign_id=campaign,
        from_day=window.from_day,
        to_day=window.to_day,
    )


backend = context.page_backend()
st.title("Mobile")
empty.stop_if_empty(backend, "mobile")
version = loaders.data_version(backend)
chosen = filters.current_filters()
with context.explained_errors():
    screen_names = loaders.touch_screens(backend, backend.key, version)

top = st.columns([3, 3, 2], vertical_alignment="bottom")
screen = top[0].selectbox("Screen", screen_names, key="screen", bind="query-params")
types = top[1].multiselect(
    "Event types",
    list(TOUCH_EVENT_TYPES),
    key="types",
    bind="query-params",
    format_func=TYPE_LABELS.__getitem__,
    placeholder="All event types",
)
with context.explained_errors():
    campaigns = loaders.touch_campaigns(backend, backend.key, version, screen) if screen else []
campaign = top[2].selectbox("Campaign", [filters.ALL, *campaigns], key="campaign", bind="query-params")
mode = st.segmented_control(
    "Users",
    list(HEATMAP_MODES),
    default="ALL_USERS",
    key="mode",
    bind="query-params",
    format_func=MODE_LABELS.get,
)
mode = mode or "ALL_USERS"
st.caption(
    f"{chosen.window.from_day:%Y-%m-%d} to {chosen.window.to_day:%Y-%m-%d} (the sidebar's days). Country, "
    "region and browser filter web events only. Apps send x and y relative to the screen's content, so "
    "taps land on the screenshot whatever the device size."
)
if not screen:
    st.info("No screen has touch events or a screenshot yet.")
    st.stop()
campaign_id = None if campaign == filters.ALL else campaign

per_user = mode == "PER_USER"
user = None
if per_user:
    with context.explained_errors():
        overview = loaders.touch_heatmap(
            backend, backend.key, version, _query(screen, types, campaign_id, True, None)
        )
    picked = st.selectbox(
        "User",
        [ALL_USERS, *overview.user_counts["user_id"]],
        key="user",
        bind="query-params",
        help="Users ordered by touches on this screen (most first).",
    )
    user = None if picked == ALL_USERS else picked
with context.explained_errors():
    result = loaders.touch_heatmap(
        backend, backend.key, version, _query(screen, types, campaign_id, per_user, user)
    )
points = result.points

shots = loaders.screen_screenshots(backend, backend.key, version, screen)
image = loaders.display_screenshot(backend, backend.key, shots[0]["sha256"]) if shots else None
canvas = Canvas.for_image(image, image.width) if image else Canvas(*PHONE_CANVAS)
touches = int(points["count"].sum())
left, right = st.columns([2, 3])
with left:
    opacity = st.slider("Opacity", 0.1, 1.0, 0.7, 0.05, key="touch_opacity")
    cartesian_chart(touch_heatmap(points, canvas=canvas, opacity=opacity), key="touch_chart", width="stretch")
    st.caption(
        f"Backdrop: newest screenshot ({shots[0]['width']}x{shots[0]['height']} px)."
        if shots
        else "No screenshot for this screen: upload one on Screenshots. Taps are drawn on a phone outline."
    )
with right:
    numbers = st.columns(2)
    numbers[0].metric("Touches", count(touches), border=True)
    numbers[1].metric("Cells touched", count(points.unique(subset=["x", "y"]).height), border=True)
    if per_user:
        st.subheader("Touches per user")
        counts = overview.user_counts
        if not counts.is_empty():
            table = counts.with_columns(share=pl.col("touch_count") / pl.col("touch_count").sum())
            st.dataframe(table, column_config=USER_COLUMNS, hide_index=True, width="stretch")
        else:
            st.info("No user touched this screen for these filters.")
    elif points.is_empty():
        st.info("No touches on this screen for these filters.")
