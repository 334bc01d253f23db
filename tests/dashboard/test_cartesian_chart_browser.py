"""The chart component's JavaScript in a real Chromium, with visible (classic) scrollbars: a page figure
wider than its column is scaled down to it, and settles instead of resizing itself in circles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.cartesian_chart import COMPONENT_JS, PLOTLY_BUNDLE
from heatmaps_testing.loopback import REPO
from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium

sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
pytestmark = needs_chromium

# A scrolling panel 720 px high around a column 700 px wide, as the Heatmap view's panel.
HARNESS = """<!doctype html><html><body style="margin:0">
<div id="panel" style="height:720px; width:700px; overflow:auto">
  <div id="root"><div class="cartesian-chart"></div><div class="cartesian-chart-error"></div></div>
</div></body></html>"""

# Mounts the component as Streamlit does: its module's default export, called with the data.
MOUNT = """async ([js, data]) => {
  window.__heatmapsPlotly = Promise.resolve(window.Plotly);
  const url = URL.createObjectURL(new Blob([js], { type: "text/javascript" }));
  const mount = (await import(url)).default;
  const parentElement = document.getElementById("root");
  mount({ data, parentElement, setStateValue: () => {} });
  const chart = parentElement.querySelector(".cartesian-chart");
  while (!chart._fullLayout) await new Promise((done) => setTimeout(done, 20));
  window.relayouts = 0;
  chart.on("plotly_relayout", () => window.relayouts++);
}"""

SIZES = """() => { const chart = document.querySelector(".cartesian-chart");
  return { room: chart.clientWidth, overflow: chart.scrollWidth - chart.clientWidth,
           width: chart._fullLayout.width, height: chart._fullLayout.height }; }"""


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        # Playwright hides scrollbars in headless Chromium by default; a user's browser shows them.
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, ignore_default_args=["--hide-scrollbars"]
        )
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        yield page
        browser.close()


def mount(page: Any, width: int, height: int) -> None:
    page.set_content(HARNESS)
    page.add_script_tag(path=str(REPO / "static" / PLOTLY_BUNDLE))
    figure = {
        "data": [],
        "layout": {"width": width, "height": height, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}},
    }
    data = {
        "spec": json.dumps(figure),
        "config": {"responsive": True},
        "bundle": "",
        "selectable": False,
        "fit": True,
    }
    page.evaluate(MOUNT, [COMPONENT_JS, data])


def test_a_figure_wider_than_its_column_is_scaled_down_keeping_its_aspect(page: Any) -> None:
    mount(page, 720, 1440)  # taller than the panel: the scrollbar is there from the start
    page.wait_for_timeout(300)

    sizes = page.evaluate(SIZES)

    assert sizes["overflow"] <= 0
    assert sizes["width"] == sizes["room"] < 700  # the panel's scrollbar takes its share
    assert sizes["height"] == round(1440 * sizes["width"] / 720)


def test_a_figure_as_tall_as_its_panel_settles_beside_a_scrollbar(page: Any) -> None:
    # Fitted to 700 px it is 724 px high: the panel shows a scrollbar, the column narrows, the figure
    # shrinks to 709 px and the scrollbar goes. Growing back by a scrollbar's width would start again.
    mount(page, 720, 745)
    page.wait_for_timeout(1000)

    before = page.evaluate("() => window.relayouts")
    page.wait_for_timeout(1000)

    assert page.evaluate("() => window.relayouts") == before  # settled
    assert page.evaluate(SIZES)["overflow"] <= 0
