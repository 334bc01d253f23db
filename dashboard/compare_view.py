"""The Heatmap view's comparison (CONTRACT 15): what to compare with, bound to the URL, and the two sides
side by side over the same backdrop with their difference map and deltas (numbers from
:mod:`dashboard.compare`, figures from the cached loaders).

``?compare=`` is the mode (Previous period, Another window, Another segment); ``?vsDates=`` the other
window's days and ``?vs=`` the other segment as the picker names it (``UTM source: google``,
``Visitors: new``, ``Tag: variant:B``), so a link reproduces the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import streamlit as st

from dashboard import compare, loaders
from dashboard.cartesian_chart import cartesian_chart
from dashboard.context import Backend
from dashboard.export import density_png
from dashboard.figures import PageOverlay
from dashboard.filters import EARLIEST_DAY, Filters, clamp_window, utc_today
from dashboard.formatting import count, escape_markdown, percent
from dashboard.heatmap_view import LAYERS, Look, chart_width
from dashboard.loaders import DataVersion, PageFrame
from dashboard.segment_filters import NO_CHOICES, SegmentChoices
from data_layer.filters import MAX_WINDOW_DAYS, WebFilters, Window
from data_layer.page_ref import GroupRef, PageRef

MODES = ("Off", "Previous period", "Another window", "Another segment")
DELTA_COLOURS = {"more": "normal", "less": "inverse", "neither": "off"}
"""st.metric's delta colour by which way is good news: green up, green down, grey."""
SEGMENT_NAMES = {
    "visitorType": "Visitors",
    "utmSource": "UTM source",
    "utmMedium": "UTM medium",
    "utmCampaign": "UTM campaign",
    "referrerHost": "Referrer",
    "tag": "Tag",
}


@dataclass(frozen=True)
class Comparison:
    """Two sides of one page and breakpoint: A (the baseline) and B, each a window and filters, with
    the words naming them."""

    a: tuple[Window, WebFilters]
    b: tuple[Window, WebFilters]
    labels: tuple[str, str]


def _segment_name(option: str) -> str:
    """``utmSource:google`` -> ``UTM source: google``."""
    key, _, value = option.partition(":")
    return f"{SEGMENT_NAMES.get(key, key)}: {value}"


def comparison_controls(backend: Backend, version: DataVersion, chosen: Filters) -> Comparison | None:
    """The "Compare with" control and the other side's days or segment, all bound to the URL; the
    comparison they make, None when off (or no segment picked yet)."""
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    mode = row.segmented_control(
        "Compare with",
        MODES,
        default="Off",
        key="compare",
        bind="query-params",
        help="Two windows or two segments side by side, and where their clicks differ. Each side is "
        "counted in shares of its own clicks, so a longer window or a bigger segment does not look hotter.",
    )
    if mode in ("Previous period", "Another window"):
        previous = compare.previous_window(chosen.window)
        other = previous
        if mode == "Another window":
            picked = row.date_input(
                "Other days (UTC)",
                value=(previous.from_day, previous.to_day),
                min_value=EARLIEST_DAY,
                max_value=utc_today() + timedelta(days=1),
                format="YYYY-MM-DD",
                key="vsDates",
                bind="query-params",
                help=f"The window to compare the sidebar's with, at most {MAX_WINDOW_DAYS} days; "
                "the earlier of the two is A.",
            )
            other, note = clamp_window(
                tuple(picked) if isinstance(picked, tuple | list) else (picked,), previous
            )
            if note:
                row.caption(f":orange[{note}]")
        a, b = compare.ordered_windows(chosen.window, other)
        return Comparison(
            (a, chosen.where), (b, chosen.where), (compare.window_label(a), compare.window_label(b))
        )
    if mode == "Another segment":
        choices = _segment_choices(backend, version)
        option = row.selectbox(
            "Segment B",
            compare.segment_options(choices),
            index=None,
            format_func=_segment_name,
            key="vs",
            bind="query-params",
            placeholder="Pick a segment",
            help="B is the sidebar's filters with this segment in place of its own of that kind.",
        )
        if option is None:
            st.info("Pick the segment to compare with.")
            return None
        other = compare.with_segment(chosen.where, option)
        labels = (compare.segment_label(chosen.where), compare.segment_label(other))
        return Comparison((chosen.window, chosen.where), (chosen.window, other), labels)
    return None


def _segment_choices(backend: Backend, version: DataVersion) -> SegmentChoices:
    """The segments of the days with data, as the sidebar offers them (none without data)."""
    web, _ = loaders.day_ranges(backend, backend.key, version)
    if web is None:
        return NO_CHOICES
    return loaders.segment_choices(backend, backend.key, version.web[1], web.first, web.last)


def _side_value(value: float | None, kind: str) -> str:
    if value is None:
        return "no data"
    return count(int(value)) if kind == "count" else percent(value)


def show_comparison(
    backend: Backend,
    page: PageRef | GroupRef,
    comparison: Comparison,
    frame: PageFrame,
    look: Look,
    height_px: int,
) -> None:
    """The deltas, A and B side by side and their difference map (in one scrolling panel, so they
    scroll together; at 100 %, a page wide each, in tabs), and the difference map's PNG export."""
    version = loaders.data_version(backend)
    db = backend.key
    sides = (comparison.a, comparison.b)
    summaries = [
        loaders.page_summary(backend, db, version, page, *side, look.include_fixed) for side in sides
    ]
    a_label, b_label = (escape_markdown(label) for label in comparison.labels)  # shown as Markdown
    totals = [compare.totals(summary, frame.document_height) for summary in summaries]
    st.markdown(f"**B** ({b_label}) compared with **A** ({a_label}):")
    numbers = st.columns(5)
    for column, delta in zip(numbers, compare.deltas(*totals), strict=True):
        column.metric(
            delta.label,
            _side_value(delta.b, delta.kind),
            compare.describe_change(delta),
            delta_color=DELTA_COLOURS["neither" if delta.unchanged else delta.better],
            delta_arrow="off" if delta.unchanged else "auto",
            delta_description="vs A",
            border=True,
            help=f"A ({a_label}): {_side_value(delta.a, delta.kind)}. "
            f"B ({b_label}): {_side_value(delta.b, delta.kind)}. The arrow is B minus A"
            + (" in percentage points." if delta.kind == "share" else "."),
        )
    layer = LAYERS[look.layer]
    empty = [
        f"{name} ({label})"
        for name, label, summary in zip("AB", (a_label, b_label), summaries, strict=True)
        if layer.cells(summary).is_empty()
    ]
    if empty:
        st.info(
            f"{' and '.join(empty)} {'has' if len(empty) == 1 else 'have'} no {layer.unit} for these "
            "filters: the difference map can only show where the other side clicks. Pick other days or "
            "another segment to compare."
        )
    names = (f"A · {a_label}", f"B · {b_label}", "B minus A")
    if look.zoom == "Fit":  # side by side in one panel, which scrolls them together
        panels = st.container(height=height_px, border=True).columns(3)
    else:  # a page wide each: one at a time, in a panel that scrolls sideways too
        panels = [tab.container(height=height_px, border=True) for tab in st.tabs(list(names))]
    overlays = [
        *(loaders.heatmap_overlay(backend, db, version, page, *side, frame, look) for side in sides),
        loaders.difference_overlay(backend, db, version, page, sides, comparison.labels, frame, look),
    ]
    counts = [f" · {count(total.clicks)} clicks" for total in totals]
    extras = [*counts, f" · where the {layer.unit} moved"]
    keys = ("compare_a", "compare_b", "compare_difference")
    for panel, name, overlay, extra, key in zip(panels, names, overlays, extras, keys, strict=True):
        panel.markdown(f"**{name}**{extra}")
        with panel:
            cartesian_chart(overlay.figure, key=key, width=chart_width(look.zoom))
    difference = overlays[2]
    st.caption(
        f"A is {a_label}, B is {b_label}. The difference map compares each side's share of its own "
        f"{layer.unit} in each spot: red where B's share is larger, blue where smaller, nothing where about "
        "the same; hover a spot for both shares. Sides and map share the backdrop and drawing."
    )
    st.download_button(
        "Download PNG",
        data=lambda: _difference_png(backend, frame, difference, look.opacity),
        file_name=f"heatmap-{page.breakpoint}-{layer.name}-difference.png",
        mime="image/png",
        icon=":material/download:",
        help="The difference map over the whole page, at the screenshot's resolution.",
    )


def _difference_png(backend: Backend, frame: PageFrame, difference: PageOverlay, opacity: float) -> bytes:
    """The difference map's density (it always draws one) over the full-resolution screenshot, as the
    third panel shows it."""
    backdrop_png = loaders.screenshot_bytes(backend, frame.sha256) if frame.sha256 else None
    return density_png(
        difference.density,  # type: ignore[arg-type]
        document_width_px=int(difference.canvas.width),
        document_height_px=int(difference.canvas.height),
        backdrop_png=backdrop_png,
        opacity=opacity,
    )
