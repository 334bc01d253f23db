"""The dashboard's Plotly bundle (static/) and the Streamlit settings that serve it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import plotly

from dashboard.cartesian_chart import PLOTLY_BUNDLE
from heatmaps_testing.loopback import REPO

RELEASE = re.compile(r"plotly\.js (?:\(cartesian - minified\) )?v(\d+\.\d+\.\d+)")


def release_of(script: Path) -> str:
    match = RELEASE.search(script.read_text(encoding="utf-8")[:300])
    assert match, f"{script} does not start with a plotly.js banner"
    return match.group(1)


def test_the_vendored_bundle_is_the_plotly_packages_release() -> None:
    """Upgrading the plotly package means replacing static/'s cartesian bundle with the same release."""
    shipped = release_of(Path(plotly.__file__).parent / "package_data" / "plotly.min.js")
    assert release_of(REPO / "static" / PLOTLY_BUNDLE) == shipped
    assert shipped in PLOTLY_BUNDLE  # a new release gets a new URL, never a stale cached script


def test_the_dashboard_serves_static_files() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableStaticServing"] is True
