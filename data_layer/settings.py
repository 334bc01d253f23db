"""Settings read from ``HEATMAPS_*`` environment variables (and an optional ``.env``).

Every field carries a description: ``docs/settings.md`` lists them all and a test keeps the two in step.
"""

from __future__ import annotations

import os
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data_layer import breakpoints
from data_layer.urls import PageKeyRules

DEFAULT_REPLAY_URL_TEMPLATE = (
    "{dashboard_url}/session?sessionId={sessionId}&visitorId={visitorId}&date={date}"
)


# An origin as a Content-Security-Policy source: a host name (or ``*.`` before one), an IPv4 or bracketed
# IPv6 address, an optional port; nothing a policy would read as a separator.
_CSP_ORIGIN = re.compile(
    r"https?://(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:\d{1,5})?|https?://\[[0-9a-f:.]+\](:\d{1,5})?"
)


def _names(value: str) -> tuple[str, ...]:
    """A comma-separated list setting as sorted, distinct, non-empty names."""
    return tuple(sorted({name.strip() for name in value.split(",") if name.strip()}))


class Settings(BaseSettings):
    """All configuration of the product; one instance per process via :func:`get_settings`."""

    # Errors name the setting and the reason, never its value: a URL may hold a password.
    model_config = SettingsConfigDict(
        env_prefix="HEATMAPS_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

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
        breakpoints.TABLET_MIN_PX,
        ge=1,
        description="Viewport width (px) from which an event is `tablet` rather than `mobile`.",
    )
    breakpoint_desktop_min_px: int = Field(
        breakpoints.DESKTOP_MIN_PX, ge=1, description="Viewport width (px) from which an event is `desktop`."
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
    token_cache_s: float = Field(
        5.0,
        ge=0,
        description=(
            "Seconds an API process trusts a token it has verified before looking it up again; a revoked "
            "token stops working at the latest this long after `heatmaps keys revoke`; 0 = every request."
        ),
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
    clickhouse_url: SecretStr | None = Field(
        None,
        description=(
            "clickhouse://[user[:password]@]host[:port]/database[?cluster=NAME]: the events in ClickHouse "
            "(CONTRACT 16; native protocol, port 9000 by default); unset = SQL and the replica."
        ),
    )
    clickhouse_ship_interval_s: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Seconds between the ClickHouse shipper's looks for new events (events show within 5 s).",
    )
    clickhouse_lease_s: float = Field(
        15.0,
        ge=3,
        description="Seconds the API process shipping to ClickHouse holds its lease; others then take over.",
    )
    sql_tail_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description=(
            "With ClickHouse and PostgreSQL: days of shipped events the SQL database keeps (older ones live "
            "in ClickHouse alone; a late event of such a day brings its session back first); unset = SQL "
            "keeps every event."
        ),
    )
    api_host: str = Field("127.0.0.1", description="Address `heatmaps api` and `heatmaps serve` bind to.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of the REST API.")
    api_workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description=(
            "Processes `heatmaps api` serves with (its --workers); unset = one per core on PostgreSQL, "
            "one on SQLite. Rate limits are divided among them."
        ),
    )
    dashboard_port: int = Field(8501, ge=1, le=65535, description="Port of the Streamlit dashboard.")
    api_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL of the API, shown in the tracker snippet of the dashboard.",
    )

    page_key_index_files: str = Field(
        "",
        description=(
            "Comma-separated directory-index file names (e.g. `index.html`) folded into their directory's "
            "pageKey, so /book/ and /book/index.html are one page; empty = the path is kept as sent."
        ),
    )
    page_key_extensions: str = Field(
        "",
        description=(
            "Comma-separated endings (e.g. `.html`) dropped from a URL's last path segment, so /guide and "
            "/guide.html are one page, for a site that answers both (GitHub Pages does); empty = kept."
        ),
    )
    page_key_view_params: str = Field(
        "",
        description=(
            "Comma-separated query parameters that define a distinct view (e.g. `search` on a page whose "
            "search replaces its content), kept in the pageKey in sorted order; empty = query dropped."
        ),
    )
    capture_origins: str = Field(
        "",
        description=(
            "Comma-separated origins (scheme://host[:port]) whose pages may be photographed as backdrops; "
            "empty = nothing is captured. Only these are ever opened (page keys come from public keys)."
        ),
    )
    capture_auto: bool = Field(
        False,
        description=(
            "Capture in the background every page of an allowed origin that has clicks in a breakpoint and "
            "no backdrop there, or one older than HEATMAPS_CAPTURE_MAX_AGE_DAYS."
        ),
    )
    capture_max_age_days: int = Field(
        30, ge=1, description="Automatic capture retakes backdrops older than this many days."
    )
    chromium_path: str | None = Field(
        None,
        description=(
            "Chromium or Chrome executable for captures; unset = /usr/bin/chromium, chromium-browser, "
            "google-chrome on PATH, else Playwright's own browser when installed."
        ),
    )
    capture_timeout_s: int = Field(
        30, ge=5, le=600, description="Longest one capture may take, page load and network idle included."
    )
    capture_max_attempts: int = Field(
        4,
        ge=1,
        le=20,
        description="Tries of a capture that fails for a passing reason (timeout, 5xx, crash).",
    )
    capture_retry_base_s: float = Field(
        60.0, gt=0, description="Wait before the first retry of a failed capture; doubles with each try."
    )
    capture_workers: int = Field(
        1, ge=1, le=8, description="Captures run at once by the API process (each runs its own Chromium)."
    )
    capture_lease_s: float = Field(
        15.0,
        ge=3,
        le=600,
        description=(
            "Captures run in one API process, the holder of a lease it renews every third of this; when "
            "that process dies, another takes over within this many seconds (plus a third)."
        ),
    )
    capture_scan_interval_s: float = Field(
        30.0, gt=0, description="How often automatic capture looks for pages that need a backdrop."
    )
    capture_width_desktop_px: int = Field(
        breakpoints.NOMINAL_WIDTH_PX["desktop"],
        ge=320,
        le=4000,
        description="Viewport width of desktop captures.",
    )
    capture_width_tablet_px: int = Field(
        breakpoints.NOMINAL_WIDTH_PX["tablet"],
        ge=320,
        le=4000,
        description="Viewport width of tablet captures.",
    )
    capture_width_mobile_px: int = Field(
        breakpoints.NOMINAL_WIDTH_PX["mobile"],
        ge=240,
        le=4000,
        description="Viewport width of mobile captures.",
    )

    recording_max_mb: int = Field(
        20,
        ge=1,
        le=10_000,
        description=(
            "Largest recording of one session, in MiB of decoded rrweb JSON; an upload past it is refused "
            "with 413 and the tracker stops recording that session."
        ),
    )
    replay_resource_origins: str = Field(
        "",
        description=(
            "Comma-separated origins (scheme://host[:port]) whose images, stylesheets and fonts a "
            "recording's replay may load in the dashboard, e.g. the site's own and its CDN's; empty = none "
            "(replays show the recorded structure and inlined CSS only); `*` = any http(s) origin."
        ),
    )

    @field_validator("clickhouse_url")
    @classmethod
    def _clickhouse_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused at start, in the target's own words (which never quote the password)."""
        if value is not None and value.get_secret_value().strip():
            from data_layer.clickhouse.target import ClickHouseTarget

            try:
                ClickHouseTarget.parse(value.get_secret_value().strip())
            except Exception as exc:
                raise ValueError(getattr(exc, "details", "HEATMAPS_CLICKHOUSE_URL is invalid")) from None
            return value
        return None

    def clickhouse_target(self) -> Any:
        """The parsed :class:`~data_layer.clickhouse.target.ClickHouseTarget`, None when unset."""
        if self.clickhouse_url is None:
            return None
        from data_layer.clickhouse.target import ClickHouseTarget

        return ClickHouseTarget.parse(self.clickhouse_url.get_secret_value().strip())

    @field_validator("capture_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        """Each entry must be a bare origin: a path, query or credentials would make the check ambiguous."""
        from data_layer.capture.origins import parse_origins

        parse_origins(value)
        return value

    @field_validator("replay_resource_origins")
    @classmethod
    def _replay_origins(cls, value: str) -> str:
        """Bare origins, or ``*`` alone (they end up in a Content-Security-Policy)."""
        from data_layer.capture.origins import parse_origins

        if value.strip() == "*":
            return value
        for origin in parse_origins(value, what="replay resource origin"):
            if not _CSP_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"replay resource origin {origin[:100]!r}: not a host name, IP address or *.domain"
                )
        return value

    @field_validator("replay_url_template", "dashboard_url", "api_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        """Links the dashboard renders must never run script (``javascript:``, ``data:``)."""
        scheme = urlsplit(value.replace("{dashboard_url}", "http://x")).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"{info.field_name} must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _tail_with_clickhouse(self) -> Settings:
        """A bounded tail needs somewhere else to keep the rest, and sequence numbers that are never
        given out twice (SQLite numbers new rows from its newest one, which a deletion may have taken)."""
        if self.sql_tail_days is not None and (
            self.clickhouse_url is None or not self.database_url.startswith("postgresql")
        ):
            raise ValueError(
                "HEATMAPS_SQL_TAIL_DAYS needs HEATMAPS_CLICKHOUSE_URL and a PostgreSQL "
                "HEATMAPS_DATABASE_URL; unset it to keep every event in SQL"
            )
        return self

    @model_validator(mode="after")
    def _breakpoints_ordered(self) -> Settings:
        if self.breakpoint_tablet_min_px >= self.breakpoint_desktop_min_px:
            raise ValueError("breakpoint_tablet_min_px must be below breakpoint_desktop_min_px")
        return self

    def breakpoint_for(self, viewport_width: int) -> str:
        return breakpoints.breakpoint_for(
            viewport_width,
            tablet_min_px=self.breakpoint_tablet_min_px,
            desktop_min_px=self.breakpoint_desktop_min_px,
        )

    def rage_thresholds(self) -> dict[str, Any]:
        """Keyword arguments of :func:`data_layer.rage.rage_flags`: one reading of the chain rule for
        ingestion and for cursor snapshots alike."""
        return {
            "min_clicks": self.rage_min_clicks,
            "max_interval_ms": self.rage_max_interval_ms,
            "max_distance_px": self.rage_max_distance_px,
        }

    @property
    def allowed_capture_origins(self) -> tuple[str, ...]:
        """The normalised origins of HEATMAPS_CAPTURE_ORIGINS (``scheme://host[:port]``)."""
        from data_layer.capture.origins import parse_origins

        return parse_origins(self.capture_origins)

    @property
    def replay_resource_sources(self) -> tuple[str, ...]:
        """Where a replay may load images, stylesheets and fonts from, as CSP sources: the normalised
        origins of HEATMAPS_REPLAY_RESOURCE_ORIGINS, or ``http:`` and ``https:`` for ``*``."""
        from data_layer.capture.origins import parse_origins

        if self.replay_resource_origins.strip() == "*":
            return ("http:", "https:")
        return parse_origins(self.replay_resource_origins, what="replay resource origin")

    def api_processes(self) -> int:
        """How many processes ``heatmaps api`` serves with when ``--workers`` is not given: the setting,
        else one per core on PostgreSQL (each runs Python code on a core of its own, and the database
        takes writes from all at once) and one on SQLite (docs/performance.md: a second process adds
        nothing there, its writes wait for the file's lock, and it holds a replica of its own)."""
        if self.api_workers is not None:
            return self.api_workers
        return (os.cpu_count() or 1) if self.database_url.startswith("postgresql") else 1

    def capture_width(self, breakpoint: str) -> int:
        """The nominal viewport width (CSS px) a backdrop of ``breakpoint`` is photographed at."""
        return {
            "desktop": self.capture_width_desktop_px,
            "tablet": self.capture_width_tablet_px,
            "mobile": self.capture_width_mobile_px,
        }[breakpoint]

    @cached_property
    def page_key_rules(self) -> PageKeyRules:
        """The optional pageKey refinements (index files folded, extensions dropped, view parameters kept)."""
        return PageKeyRules(
            index_files=_names(self.page_key_index_files),
            view_params=_names(self.page_key_view_params),
            extensions=_names(self.page_key_extensions),
        )

    def replay_template(self) -> str:
        """The replay template with the dashboard URL filled in; placeholders left for the caller."""
        return self.replay_url_template.replace("{dashboard_url}", self.dashboard_url.rstrip("/"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
