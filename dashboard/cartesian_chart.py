"""Plotly figures drawn by Plotly's cartesian bundle in a Streamlit component, instead of st.plotly_chart.

``st.plotly_chart`` runs Streamlit's copy of Plotly with every trace type (maps, 3-D, WebGL: 4.7 MB of
JavaScript), and parsing and running it was most of what a new browser tab spent on the Heatmap view
(about 1 of 2.4 s at 10 M events). The dashboard's figures use only cartesian traces (image, heatmap,
scatter), so this component loads Plotly's official cartesian bundle (1.5 MB, the same plotly.js release
as the ``plotly`` package's, from the app's ``static/`` folder) once per tab, as a classic script the
browser keeps compiled in its code cache, and can report point and box selections as
``st.plotly_chart(on_select="rerun")`` does.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any, Literal

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

# In ``static/`` beside the main script, which Streamlit serves at ``app/static/`` (enableStaticServing).
PLOTLY_BUNDLE = "plotly-cartesian-4.1.1.min.js"

COMPONENT_JS = """
function loadPlotly(bundle) {
  if (!window.__heatmapsPlotly) {
    window.__heatmapsPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL(bundle, document.baseURI).href;
      const fail = () => {
        window.__heatmapsPlotly = undefined;  // a later render tries again
        script.remove();
        reject(new Error("Plotly could not be loaded from " + script.src));
      };
      script.onload = () => (window.Plotly ? resolve(window.Plotly) : fail());
      script.onerror = fail;
      document.head.appendChild(script);
    });
  }
  return window.__heatmapsPlotly;
}

// A figure wider than its column (a page figure in a laptop's narrower column) is scaled down to fit,
// its plot area keeping its aspect, so page pixels stay square and nothing is cut off at the right.
function fitted(layout, room) {
  if (!room || !layout.width || !layout.height || layout.width <= room) return layout;
  const margin = layout.margin || {};
  const [l, r, t, b] = [margin.l ?? 80, margin.r ?? 80, margin.t ?? 100, margin.b ?? 80]; // Plotly's defaults
  if (room <= l + r) return layout;
  const scale = (room - l - r) / (layout.width - l - r);
  return { ...layout, width: room, height: Math.round((layout.height - t - b) * scale) + t + b };
}

// Wider by at most a scrollbar: not worth growing for. A fitted figure can be tall enough for its
// scrolling panel to show a scrollbar, which narrows the column, shrinks the figure, hides the
// scrollbar again: growing back by that much would go round in circles.
const GROW_SLACK_PX = 24;

// Fits the drawn figure to its column again when the column changes width (the window is resized).
function refit(Plotly, chart) {
  const wanted = fitted(chart.__layout, chart.clientWidth);
  const drawn = chart._fullLayout && chart._fullLayout.width;
  if (wanted.width && drawn && (wanted.width < drawn || wanted.width > drawn + GROW_SLACK_PX)) {
    Plotly.relayout(chart, { width: wanted.width, height: wanted.height });
  }
}

function pointsOf(event) {
  return (event && event.points ? event.points : []).map((point) => ({ x: point.x, y: point.y }));
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const chart = parentElement.querySelector(".cartesian-chart");
  const message = parentElement.querySelector(".cartesian-chart-error");
  let disposed = false;
  loadPlotly(data.bundle)
    .then((Plotly) => {
      // Unmounted while Plotly loaded, or a rerun with the same figure (which keeps the selection).
      if (disposed || chart.__spec === data.spec) return;
      const figure = JSON.parse(data.spec);
      const layout = data.fit ? fitted(figure.layout, chart.clientWidth) : figure.layout;
      return Plotly.react(chart, figure.data, layout, data.config).then(() => {
        chart.__spec = data.spec;
        chart.__layout = figure.layout;
        message.textContent = "";
        if (data.fit && !chart.__observer) {
          chart.__observer = new ResizeObserver(() => refit(Plotly, chart));
          chart.__observer.observe(chart);
        }
        if (!data.selectable || chart.__bound) return;
        chart.__bound = true;
        chart.on("plotly_selected", (event) => setStateValue("selection", pointsOf(event)));
        chart.on("plotly_deselect", () => setStateValue("selection", []));
      });
    })
    .catch((error) => {
      if (!disposed) message.textContent = String(error);
    });
  return () => {
    disposed = true;
    if (chart.__observer) chart.__observer = chart.__observer.disconnect();
    if (window.Plotly) window.Plotly.purge(chart);
  };
}
"""

# Not style-isolated: Plotly puts its stylesheet (hover labels, selection outlines) in the document head.
_chart = st.components.v2.component(
    "cartesian_chart",
    html='<div class="cartesian-chart"></div><div class="cartesian-chart-error" role="alert"></div>',
    css=".cartesian-chart-error:empty { display: none; } .cartesian-chart-error { color: #b91c1c; }",
    js=COMPONENT_JS,
    isolate_styles=False,
)


def cartesian_chart(
    figure: go.Figure,
    *,
    key: str,
    config: Mapping[str, Any] | None = None,
    selectable: bool = False,
    width: Literal["content", "stretch"] = "content",
) -> list[dict[str, float]]:
    """Draw ``figure``; with ``selectable``, returns the points (x, y) of the current selection.

    The figure goes as Plotly's own JSON (typed arrays stay base64), so the browser gets what
    ``st.plotly_chart`` would send, and a rerun with a changed figure updates the drawn one in place
    (``Plotly.react``). A selectable figure is a chart of its own (``key`` plus a digest of the figure,
    :func:`chart_key`), so another page, layer or filter starts without a selection. ``width="stretch"``
    fits a figure without a width of its own to the column, resizing with the window, and scales a
    figure wider than the column down to it, keeping its plot area's aspect (page pixels stay square),
    again whenever the column changes width.
    """
    spec = pio.to_json(figure, validate=False)
    fit = width == "stretch"
    options = {"displayModeBar": False, **(config or {}), "responsive": fit}
    bundle = f"app/static/{PLOTLY_BUNDLE}"
    data = {"spec": spec, "config": options, "bundle": bundle, "selectable": selectable, "fit": fit}
    if not selectable:
        _chart(data=data, key=key, width=width)
        return []
    result = _chart(
        data=data,
        key=chart_key(key, spec),
        default={"selection": []},
        on_selection_change=lambda: None,
        width=width,
    )
    selection = result.selection
    return [point for point in selection if _is_point(point)] if isinstance(selection, list) else []


def chart_key(key: str, spec: str) -> str:
    """The component's key for the figure whose JSON is ``spec``."""
    return f"{key}:{hashlib.blake2b(spec.encode(), digest_size=8).hexdigest()}"


def _is_point(point: Any) -> bool:
    """A selection point as the browser reports it: finite page x and y numbers (anything else, which
    only a forged state value can hold, is ignored)."""
    return isinstance(point, dict) and all(_is_finite_number(point.get(axis)) for axis in ("x", "y"))


def _is_finite_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits
        return False
