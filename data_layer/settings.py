"""Settings read from ``HEATMAPS_*`` environment variables (and an optional ``.env``).

Every field carries a description: ``docs/settings.md`` lists them all and a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REPLAY_URL_TEMPLATE = (
    "{dashboard_url}/session?sessionId={sessionId}&visitorId={visitorId}&date={date}"
)


class Settings(BaseSettings):
    """All configuration of the product; one instance per process via :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="HEATMAPS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///data/heatmaps.db",
        description="SQLAlchemy URL of the system of record: sqlite:///path or postgresql+psycopg://...",
    )
    database_connect_timeout_s: int = Field(
        5,
        ge=1,
        description="PostgreSQL: seconds to wait for a connection before the database counts as down.",
    )
    database_keepalives_idle_s: int = Field(
        10,
        ge=1,
        description="PostgreSQL: seconds a connection may stay silent before TCP keepalives probe it.",
    )
    database_keepalives_interval_s: int = Field(
        5, ge=1, description="PostgreSQL: seconds between TCP keepalive probes of a silent connection."
    )
    database_tcp_user_timeout_ms: int = Field(
        20_000,
        ge=0,
        description=(
            "PostgreSQL: ms sent data (or keepalive probes) may stay unacknowledged before the connection is "
            "dropped, so a network partition fails the request (503) instead of hanging it; 0 = OS default."
        ),
    )
    database_statement_timeout_ms: int = Field(
        30_000,
        ge=0,
        description=(
            "PostgreSQL: longest a single SQL statement may run before the server cancels it (the API then "
            "answers 503); 0 = no limit. Applies to the CLI and migrations too."
        ),
    )
    secret_key: str | None = Field(
        None,
        description="Key that signs pagination cursors; generated and stored in the database when unset.",
    )
    breakpoint_tablet_min_px: int = Field(
        768, ge=1, description="Viewport width (px) from which an event is `tablet` rather than `mobile`."
    )
    breakpoint_desktop_min_px: int = Field(
        1024, ge=1, description="Viewport width (px) from which an event is `desktop`."
    )
    rage_min_clicks: int = Field(3, ge=2, description="Clicks in a run needed for a rage event.")
    rage_max_interval_ms: int = Field(
        1000, ge=1, description="A rage click follows the previous one by less than this many ms."
    )
    rage_max_distance_px: float = Field(
        30.0, gt=0, description="A rage click lies less than this Manhattan distance (px) from the previous."
    )
    dashboard_url: str = Field(
        "http://127.0.0.1:8501",
        description="Public base URL of the dashboard; the default replay links point to its Session page.",
    )
    replay_url_template: str = Field(
        DEFAULT_REPLAY_URL_TEMPLATE,
        description=(
            "Replay link template with {sessionId}, {visitorId}, {date} (and {dashboard_url}); "
            "must be an http(s) URL."
        ),
    )
    dashboard_auth: Literal["none", "token"] = Field(
        "none", description="`none`: dashboard open (local use); `token`: asks for an API token."
    )
    rate_limit_query_per_minute: int = Field(
        120, ge=1, description="Query requests allowed per token and minute (429 beyond)."
    )
    rate_limit_ingest_per_minute: int = Field(
        1200, ge=1, description="Ingest requests allowed per token and minute (429 beyond)."
    )
    retention_days: int | None = Field(
        None, ge=1, description="Default age (days) for `heatmaps purge` when --older-than is not given."
    )
    country_header: str | None = Field(
        None, description="Trusted request header holding the visitor's country (e.g. CF-IPCountry)."
    )
    region_header: str | None = Field(
        None, description="Trusted request header holding the visitor's region (e.g. X-Region)."
    )
    screenshot_dir: Path = Field(
        Path("data/screenshots"), description="Directory where screenshot PNG files are stored by sha256."
    )
    replica_dir: Path = Field(
        Path("data/replica"),
        description="Directory of the columnar replica files (Arrow IPC); safe to delete, rebuilt from SQL.",
    )
    api_host: str = Field("127.0.0.1", description="Address `heatmaps api` and `heatmaps serve` bind to.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of the REST API.")
    dashboard_port: int = Field(8501, ge=1, le=65535, description="Port of the Streamlit dashboard.")
    api_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL of the API, shown in the tracker snippet of the dashboard.",
    )

    @field_validator("replay_url_template", "dashboard_url", "api_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        """Links the dashboard renders must never run script (``javascript:``, ``data:``)."""
        scheme = urlsplit(value.replace("{dashboard_url}", "http://x")).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"{info.field_name} must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _breakpoints_ordered(self) -> Settings:
        if self.breakpoint_tablet_min_px >= self.breakpoint_desktop_min_px:
            raise ValueError("breakpoint_tablet_min_px must be below breakpoint_desktop_min_px")
        return self

    @property
    def breakpoint_names(self) -> tuple[str, ...]:
        """Breakpoints in the contract's display order."""
        return ("desktop", "tablet", "mobile")

    def breakpoint_for(self, viewport_width: int) -> str:
        if viewport_width >= self.breakpoint_desktop_min_px:
            return "desktop"
        if viewport_width >= self.breakpoint_tablet_min_px:
            return "tablet"
        return "mobile"

    def rage_thresholds(self) -> dict[str, Any]:
        """Keyword arguments of :func:`data_layer.metrics.rage_flags`: one reading of the chain rule for
        ingestion and for cursor snapshots alike."""
        return {
            "min_clicks": self.rage_min_clicks,
            "max_interval_ms": self.rage_max_interval_ms,
            "max_distance_px": self.rage_max_distance_px,
        }

    def replay_template(self) -> str:
        """The replay template with the dashboard URL filled in; placeholders left for the caller."""
        return self.replay_url_template.replace("{dashboard_url}", self.dashboard_url.rstrip("/"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
