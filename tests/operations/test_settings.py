"""Settings: every one documented, the contract's names fixed, unsafe replay templates refused."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from data_layer.settings import Settings
from heatmaps_testing.loopback import REPO

DOCS = REPO / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in Settings.model_fields if f"`HEATMAPS_{name.upper()}`" not in text]
    assert missing == []


def test_contract_names_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEATMAPS_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("HEATMAPS_SECRET_KEY", "k")
    monkeypatch.setenv("HEATMAPS_REPLAY_URL_TEMPLATE", "https://r.example/{sessionId}")
    monkeypatch.setenv("HEATMAPS_RATE_LIMIT_QUERY_PER_MINUTE", "7")
    monkeypatch.setenv("HEATMAPS_RATE_LIMIT_INGEST_PER_MINUTE", "9")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.secret_key == "k"
    assert settings.replay_template() == "https://r.example/{sessionId}"
    assert (settings.rate_limit_query_per_minute, settings.rate_limit_ingest_per_minute) == (7, 9)


def test_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///data/heatmaps.db"
    assert (settings.rate_limit_query_per_minute, settings.rate_limit_ingest_per_minute) == (120, 1200)
    assert [settings.breakpoint_for(w) for w in (767, 768, 1023, 1024)] == [
        "mobile",
        "tablet",
        "tablet",
        "desktop",
    ]
    assert settings.replay_template().startswith("http://127.0.0.1:8501/session?sessionId={sessionId}")


@pytest.mark.parametrize(
    "template",
    ["javascript:alert(1)//{sessionId}", "ftp://x/{sessionId}", "data:text/html,{sessionId}", "/rel"],
)
def test_non_http_replay_templates_are_refused(template: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, replay_url_template=template)


def test_breakpoints_must_be_ordered() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, breakpoint_tablet_min_px=1024, breakpoint_desktop_min_px=768)


@pytest.mark.parametrize(
    "url, workers, expected",
    [
        ("sqlite:///data/heatmaps.db", None, 1),
        ("postgresql+psycopg://u@h/db", None, os.cpu_count() or 1),
        ("sqlite:///data/heatmaps.db", 3, 3),
        ("postgresql+psycopg://u@h/db", 1, 1),
    ],
)
def test_api_processes(url: str, workers: int | None, expected: int) -> None:
    """`heatmaps api` without --workers: HEATMAPS_API_WORKERS, else one per core on PostgreSQL and one
    on SQLite (docs/performance.md, "More than one process")."""
    assert Settings(_env_file=None, database_url=url, api_workers=workers).api_processes() == expected
