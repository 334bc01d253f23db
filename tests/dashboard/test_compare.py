"""dashboard.compare: shares per bin and their difference, the difference image, the deltas of two
summaries; every expectation worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard import compare
from dashboard.compare import Delta, Totals
from dashboard.density import LEVELS
from dashboard.segment_filters import SegmentChoices
from data_layer.filters import WebFilters, Window
from data_layer.metrics import SCROLL_BUCKETS, BreakpointSummary

BIN_SCHEMA = {"bin_x": pl.Int32, "bin_y": pl.Int32, "clicks": pl.Int64}
SHARES_SCHEMA = {
    "bin_x": pl.Int32,
    "bin_y": pl.Int32,
    "share_a": pl.Float64,
    "share_b": pl.Float64,
    "difference": pl.Float64,
}


def cells(*rows: tuple[int, int, int]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=BIN_SCHEMA, orient="row")


def test_the_previous_period_is_as_long_and_ends_the_day_before() -> None:
    assert compare.previous_window(Window(date(2026, 3, 11), date(2026, 3, 20))) == Window(
        date(2026, 3, 1), date(2026, 3, 10)
    )
    assert compare.previous_window(Window(date(2026, 3, 1), date(2026, 3, 1))) == Window(
        date(2026, 2, 28), date(2026, 2, 28)
    )


def test_shares_are_of_each_sides_own_clicks_and_the_difference_is_b_minus_a() -> None:
    """A: 3 + 1 clicks -> 0.75, 0.25; B: 2 + 2 -> 0.5, 0.5. (2, 5) is on B's side only, (0, 0) on
    A's only."""
    a = cells((0, 0, 3), (1, 0, 1))
    b = cells((2, 5, 2), (1, 0, 2))
    shares = compare.share_difference(a, b, "clicks")
    expected = pl.DataFrame(
        [(0, 0, 0.75, 0.0, -0.75), (1, 0, 0.25, 0.5, 0.25), (2, 5, 0.0, 0.5, 0.5)],
        schema=SHARES_SCHEMA,
        orient="row",
    )
    assert_frame_equal(shares, expected)
    assert shares["share_a"].sum() == pytest.approx(1.0)
    assert shares["share_b"].sum() == pytest.approx(1.0)
    assert shares["difference"].sum() == pytest.approx(0.0)


def test_volumes_do_not_matter_only_where_the_clicks_are() -> None:
    """B has ten times A's clicks in the same proportions: no difference anywhere."""
    shares = compare.share_difference(cells((4, 2, 1), (5, 2, 3)), cells((4, 2, 10), (5, 2, 30)), "clicks")
    assert shares["difference"].to_list() == [0.0, 0.0]


def test_an_empty_side_has_no_shares() -> None:
    """A without clicks: B's only bin is all of B's clicks, a difference of +1; both empty: no bins."""
    shares = compare.share_difference(cells(), cells((7, 3, 2)), "clicks")
    expected = pl.DataFrame([(7, 3, 0.0, 1.0, 1.0)], schema=SHARES_SCHEMA, orient="row")
    assert_frame_equal(shares, expected)
    assert_frame_equal(
        compare.share_difference(cells(), cells(), "clicks"), pl.DataFrame(schema=SHARES_SCHEMA)
    )


def test_the_diverging_ramp_is_transparent_near_no_change() -> None:
    """Level 128 is no change, 255 the largest increase (dark red), 1 the largest decrease (dark blue);
    a change of 2/127 (1.6 %, under QUIET) stays transparent; alpha reaches the opacity at the ends."""
    table = compare.diverging_ramp(0.8)
    assert table.shape == (LEVELS, 4)
    assert table[compare.SAME, 3] == 0
    assert table[compare.SAME + 2, 3] == 0 and table[compare.SAME - 2, 3] == 0
    assert tuple(table[255]) == (165, 15, 21, 204)  # 255 * 0.8
    assert tuple(table[1]) == (8, 81, 156, 204)
    assert table[0, 3] == 0
    halfway = table[compare.SAME + 64]  # a change of 64/127
    assert halfway[0] > halfway[2] and 0 < halfway[3] < 204  # reddish, half transparent


def _level_at(density: compare.Density, x: float, y: float) -> int:
    rows, columns = density.levels.shape
    return int(density.levels[int(y / density.height * rows), int(x / density.width * columns)])


def test_the_difference_image_is_blue_where_b_clicks_less_and_red_where_more() -> None:
    """A's clicks are all at bin (10, 10), B's all at (80, 50) of a 1000 x 1000 px page: B clicks less
    at A's spot (the darkest blue at its centre) and more at its own (the darkest red)."""
    shares = compare.share_difference(cells((10, 10, 5)), cells((80, 50, 7)), "clicks")
    image = compare.difference_density(shares, page_width=1000, page_height=1000, sigma_px=12)
    assert _level_at(image, 105, 168) == 1  # bin (10, 10)'s centre: x = 1000 * 10.5 / 100, y = 16 * 10.5
    assert _level_at(image, 805, 808) == LEVELS - 1
    assert _level_at(image, 500, 500) == compare.SAME  # far from both
    assert image.palette is compare.diverging_ramp


@pytest.mark.parametrize(
    ("a", "b"), [(cells(), cells()), (cells((3, 3, 1), (9, 9, 1)), cells((3, 3, 4), (9, 9, 4)))]
)
def test_the_difference_image_is_flat_without_a_difference(a: pl.DataFrame, b: pl.DataFrame) -> None:
    shares = compare.share_difference(a, b, "clicks")
    image = compare.difference_density(shares, page_width=400, page_height=300, sigma_px=12)
    assert np.all(image.levels == compare.SAME)


@pytest.mark.parametrize(
    ("fold_px", "height", "bucket"),
    [
        (900, 3000, 40),
        (1000, 2000, 60),
        (2950, 3000, 100),
        (3000, 3000, None),
        (None, 3000, None),
        (900, None, None),
    ],
)
def test_the_fold_bucket_is_the_first_deeper_than_the_fold(
    fold_px: int | None, height: int | None, bucket: int | None
) -> None:
    """900 of 3,000 px is 30 %: past it is 40 %; 1,000 of 2,000 is 50 %: 60 %; 98.3 %: 100 %."""
    assert compare.fold_bucket(fold_px, height) == bucket


def _reach(*sessions: int) -> pl.DataFrame:
    return pl.DataFrame({"bucket": SCROLL_BUCKETS, "sessions": list(sessions)})


def test_reach_share_is_of_the_sessions_with_scroll_data() -> None:
    reach = _reach(10, 10, 8, 8, 6, 5, 4, 2, 1, 1, 0)
    assert compare.reach_share(reach, 50) == 0.5
    assert compare.reach_share(reach, 100) == 0.0
    assert compare.reach_share(reach, None) is None
    assert compare.reach_share(_reach(*[0] * 11), 50) is None


def _summary(
    clicks: list[tuple[int, int, int]], rage: int, dead: int, reach: pl.DataFrame
) -> BreakpointSummary:
    rage_bins = pl.DataFrame({"bin_x": [0], "bin_y": [0], "rage_events": [rage], "total_clicks": [rage]})
    dead_bins = pl.DataFrame({"bin_x": [1], "bin_y": [0], "dead_clicks": [dead], "top_element": [None]})
    return BreakpointSummary(cells(*clicks), rage_bins, dead_bins, reach, 900)


def test_totals_and_deltas_of_two_summaries() -> None:
    """A: 200 clicks, 4 rage events (2 %), 10 dead (5 %), 5 of 10 sessions at 50 %, 8 past the fold
    (900 of 3,000 px: 40 %); B: 250 clicks, 2 rage (0.8 %), 20 dead (8 %), 3 of 4 at 50 %, 4 of 4."""
    a = compare.totals(
        _summary([(0, 0, 150), (1, 0, 50)], 4, 10, _reach(10, 10, 9, 8, 8, 5, 4, 2, 1, 1, 0)), 3000
    )
    b = compare.totals(_summary([(0, 0, 250)], 2, 20, _reach(4, 4, 4, 4, 4, 3, 3, 2, 1, 1, 1)), 3000)
    assert a == Totals(200, 4, 10, reach_half=0.5, past_fold=0.8)
    assert b == Totals(250, 2, 20, reach_half=0.75, past_fold=1.0)
    assert (a.rage_rate, a.dead_rate) == (0.02, 0.05)
    found = compare.deltas(a, b)
    assert [(d.label, d.a, d.b) for d in found] == [
        ("Clicks", 200, 250),
        ("Rage rate", 0.02, 0.008),
        ("Dead rate", 0.05, 0.08),
        ("Reached 50 %", 0.5, 0.75),
        ("Past the fold", 0.8, 1.0),
    ]
    assert [compare.describe_change(d) for d in found] == [
        "+50 (+25.0 %)",
        "-1.2 pts",
        "+3.0 pts",
        "+25.0 pts",
        "+20.0 pts",
    ]
    assert [d.better for d in found] == ["neither", "less", "less", "more", "more"]


def test_a_side_without_clicks_or_scrolls_has_no_rates() -> None:
    nothing = Totals(0, 0, 0)
    assert (nothing.rage_rate, nothing.dead_rate) == (None, None)
    rage = compare.deltas(nothing, Totals(10, 1, 0))[1]
    assert rage.change is None and compare.describe_change(rage) is None
    assert compare.describe_change(Delta("Clicks", 0, 12, "count", "more")) == "+12"
    same = Delta("Dead rate", 0.0512, 0.0508, "share", "less")  # 5.12 % and 5.08 %: 5.1 % both
    assert same.unchanged and compare.describe_change(same) == "no change"
    assert not Delta("Dead rate", 0.05, 0.0506, "share", "less").unchanged
    assert compare.describe_change(Delta("Rage rate", 0.0, 0.0, "share", "less")) == "none in either"


@pytest.mark.parametrize(
    ("window", "label"),
    [
        (Window(date(2026, 10, 3), date(2026, 11, 1)), "3 Oct to 1 Nov 2026"),
        (Window(date(2026, 3, 1), date(2026, 3, 7)), "1 to 7 Mar 2026"),
        (Window(date(2025, 12, 20), date(2026, 1, 5)), "20 Dec 2025 to 5 Jan 2026"),
        (Window(date(2026, 3, 5), date(2026, 3, 5)), "5 Mar 2026"),
    ],
)
def test_a_window_is_labelled_in_few_words(window: Window, label: str) -> None:
    assert compare.window_label(window) == label


def test_the_earlier_window_is_a() -> None:
    march, april = Window(date(2026, 3, 1), date(2026, 3, 31)), Window(date(2026, 4, 1), date(2026, 4, 30))
    assert compare.ordered_windows(april, march) == (march, april)
    assert compare.ordered_windows(march, april) == (march, april)


def test_segment_options_offer_visitor_types_then_the_datas_values() -> None:
    choices = SegmentChoices(
        {"utm_source": ["google", "news"], "utm_medium": [], "utm_campaign": ["spring"], "referrer_host": []},
        ["variant:A", "variant:B"],
    )
    assert compare.segment_options(choices) == [
        "visitorType:new",
        "visitorType:returning",
        "utmSource:google",
        "utmSource:news",
        "utmCampaign:spring",
        "tag:variant:A",
        "tag:variant:B",
    ]


def test_b_is_the_sidebars_filters_with_the_picked_segment_in_place_of_its_own() -> None:
    sidebar = WebFilters(country="DE", utm_source="google", tags=(("variant", "A"), ("plan", "pro")))
    assert compare.with_segment(sidebar, "utmSource:news") == replace(sidebar, utm_source="news")
    assert compare.with_segment(sidebar, "visitorType:new") == replace(sidebar, visitor_type="new")
    assert compare.with_segment(sidebar, "tag:Variant:B") == replace(
        sidebar, tags=(("plan", "pro"), ("Variant", "B"))
    )
    assert compare.segment_label(sidebar) == "source google · variant:A · plan:pro"
    assert compare.segment_label(WebFilters(country="DE")) == "all visitors"
