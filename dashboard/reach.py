"""The scroll-reach chart of the Heatmap page as plain HTML bars (no Streamlit, no Plotly).

Eleven horizontal bars with a fold line need no charting library: as a second Plotly chart it cost the
browser a full ``newPlot`` (about 0.2 s per load) and the server a figure build. Drawn with inline styles
only (``st.html`` sanitises its input and keeps them); every value in it is a number the code formats.
"""

from __future__ import annotations

import polars as pl

from dashboard.palette import FOLD_COLOUR

BAR_COLOUR = "#1f77b4"
TRACK_COLOUR = "#f4f5f7"
ROW_PX = 30
BAR_PX = 20
LABEL_PX = 44
VALUE_PX = 40
TITLE = "Sessions reaching each depth"


def _row_top(depth_percent: float, buckets: int) -> float:
    """Top (px) of a row at ``depth_percent`` of the page: rows are evenly spaced from 0 % to 100 %."""
    return depth_percent / 100 * (buckets - 1) * ROW_PX


def reach_html(reach: pl.DataFrame, *, fold_percent: float | None) -> str:
    """Share of sessions reaching each 10 % of the page, top-down like the page, as an HTML fragment.

    ``reach`` is the summary's ``scroll_reach`` (bucket 0 = every session with scroll data, so 100 %);
    the dashed line marks the fold at ``fold_percent`` of the page. Each bar's tooltip gives the count.
    """
    total = reach["sessions"][0] if reach.height else 0
    rows = []
    for item in reach.iter_rows(named=True):
        share = 100 * item["sessions"] / total if total else 0.0
        tip = f"{item['sessions']:,} sessions ({share:.1f} %) reached {item['bucket']} % of the page"
        rows.append(
            f'<div title="{tip}" style="position:absolute;left:0;right:0;'
            f"top:{_row_top(item['bucket'], reach.height):.0f}px;height:{ROW_PX}px;display:flex;"
            'align-items:center;gap:6px">'
            f'<span style="width:{LABEL_PX}px;text-align:right;color:#6b7280">{item["bucket"]} %</span>'
            f'<span style="flex:1;height:{BAR_PX}px;background:{TRACK_COLOUR};border-radius:3px">'
            f'<span style="display:block;height:100%;width:{share:.1f}%;background:{BAR_COLOUR};'
            'border-radius:3px"></span></span>'
            f'<span style="width:{VALUE_PX}px;text-align:right">{share:.0f} %</span></div>'
        )
    height = (max(reach.height, 1) - 1) * ROW_PX + ROW_PX
    fold = ""
    if fold_percent is not None and reach.height:
        top = _row_top(min(max(fold_percent, 0.0), 100.0), reach.height) + ROW_PX / 2
        fold = (
            f'<div title="The fold: {fold_percent:.0f} % of the page" style="position:absolute;'
            f'left:{LABEL_PX + 6}px;right:0;top:{top:.0f}px;border-top:2px dashed {FOLD_COLOUR}">'
            f'<span style="position:absolute;right:{VALUE_PX + 6}px;top:-17px;padding:0 3px;'
            f'font-size:12px;color:{FOLD_COLOUR};background:rgba(255,255,255,0.8)">fold</span></div>'
        )
    return (
        f'<div role="figure" aria-label="{TITLE}" style="font-size:13px;line-height:1.2">'
        f'<div style="font-weight:600;margin-bottom:8px">{TITLE}</div>'
        f'<div style="position:relative;height:{height}px">{"".join(rows)}{fold}</div>'
        '<div style="margin-top:6px;color:#6b7280;font-size:12px">'
        "Depth of the page (top to bottom) · share of sessions that scrolled at least that far</div>"
        "</div>"
    )
