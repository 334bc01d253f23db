"""The dashboard's Streamlit configuration keeps the choices its page views' speed depends on."""

from __future__ import annotations

import tomllib
from typing import Any

from heatmaps_testing.loopback import REPO


def _config() -> dict[str, Any]:
    return tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_no_source_watching_and_no_collection_after_every_run() -> None:
    """Watching the sources walked every imported module after each run; a full garbage collection after
    each run held the GIL for tens of ms while the run's last messages waited (docs/performance.md)."""
    config = _config()
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["runOnSave"] is False
    assert config["runner"]["postScriptGC"] is False
