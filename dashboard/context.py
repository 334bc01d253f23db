"""The dashboard's backend (:class:`data_layer.backend.Backend`) and who is looking at it.

One backend per process and configuration, built once (``st.cache_resource``) and shared by every
session: the engine pools connections, the replica store keeps its columnar copy warm, and the
service is stateless. Per-session facts (the signed-in token's permissions, the sidebar filters) live in
``st.session_state`` only, never in module globals.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.formatting import escape_markdown
from data_layer.auth import Permission, authenticate
from data_layer.backend import Backend
from data_layer.errors import BadRequest, NotFound, Unavailable
from data_layer.migrate import upgrade
from data_layer.settings import Settings, get_settings

ACCESS_KEY = "_heatmaps_access"
ERROR_KEY = "_heatmaps_backend_error"
TOKEN_KEY = "_heatmaps_token"


@dataclass(frozen=True)
class Access:
    """What the current visitor may do; ``user`` is the token's user id (None when the gate is open)."""

    can_view: bool
    can_manage: bool
    user: str | None = None


OPEN_ACCESS = Access(can_view=True, can_manage=True)
NO_ACCESS = Access(can_view=False, can_manage=False)


def load_secrets_into_environment() -> None:
    """Let ``.streamlit/secrets.toml`` carry ``HEATMAPS_*`` settings (e.g. a database password).

    Streamlit exports root-level string secrets as environment variables once the file is loaded;
    settings are read from the environment, so the file must be loaded before :func:`get_settings` is
    first called. Without a secrets file nothing happens.
    """
    st.secrets.load_if_toml_exists()


@st.cache_resource(show_spinner="Opening the database…", max_entries=4)
def _build_backend(settings_key: str, _settings: Settings) -> Backend:
    """Migrate (idempotent) and open the database named by the settings; one per configuration.

    Then moves every object alive so far (the imported modules of Streamlit, Polars, Plotly, SQLAlchemy)
    out of the garbage collector's reach with ``gc.freeze``: a full collection holds the GIL, and these
    long-lived objects never become garbage, so scanning them again at each one only delays the
    sessions' runs. (Streamlit's own full collection after every run is off: ``runner.postScriptGC``.)
    """
    upgrade(_settings.database_url)
    built = Backend.from_settings(_settings)
    _ = built.service  # reads the secret key now, so a database failure reaches the entry point's message
    gc.collect()
    gc.freeze()
    return built


def backend() -> Backend:
    """The shared backend for the current settings; raises SQLAlchemyError when the database is down."""
    settings = get_settings()
    key = settings.model_dump_json()  # secrets dump as stars: a digest tells two ClickHouse URLs apart
    if settings.clickhouse_url is not None:
        key += hashlib.sha256(settings.clickhouse_url.get_secret_value().encode()).hexdigest()
    return _build_backend(key, settings)


def describe_database_error(exc: Exception) -> str:
    """One line about a database failure, without credentials or a stack trace."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
    return f"The database cannot be read right now ({type(exc).__name__}: {detail})."


def resolve_access(engine: Engine, settings: Settings) -> Access:
    """Open access without auth; otherwise the permissions of the token typed in the sidebar."""
    if settings.dashboard_auth == "none":
        return OPEN_ACCESS
    token = st.session_state.get(TOKEN_KEY, "")
    if not token:
        return NO_ACCESS
    principal = authenticate(engine, token.strip())
    if principal is None:
        return NO_ACCESS
    return Access(
        can_view=principal.has(Permission.VIEW_HEATMAPS),
        can_manage=principal.has(Permission.MANAGE_HEATMAPS),
        user=principal.user_id,
    )


def render_sign_in(settings: Settings, engine: Engine) -> Access:
    """The token gate in the sidebar (token mode only); stores and returns the visitor's access."""
    if settings.dashboard_auth == "none":
        access = OPEN_ACCESS
    else:
        with st.sidebar:
            st.text_input(
                "API token",
                type="password",
                key=TOKEN_KEY,
                help="A token with VIEW_HEATMAPS (and MANAGE_HEATMAPS to upload screenshots). "
                "Create one with `heatmaps keys create --user you --permissions VIEW_HEATMAPS`.",
            )
            try:
                access = resolve_access(engine, settings)
            except SQLAlchemyError as exc:
                st.error(describe_database_error(exc))
                access = NO_ACCESS
            token_given = bool(st.session_state.get(TOKEN_KEY))
            if access.can_view:
                st.caption(f"Signed in as **{escape_markdown(access.user or '')}**.")
            elif token_given and access.user:
                st.error("This token lacks the VIEW_HEATMAPS permission.")
            elif token_given:
                st.error("Unknown or revoked token.")
    st.session_state[ACCESS_KEY] = access
    return access


def current_access() -> Access:
    """The access decided by the entry point for this run (closed when it did not run)."""
    return st.session_state.get(ACCESS_KEY, NO_ACCESS)


def require_view() -> None:
    """Stop the page with an explanation unless the visitor may view heatmaps."""
    if not current_access().can_view:
        st.info(
            "Sign in with an API token in the sidebar to see heatmaps. The token needs the "
            "VIEW_HEATMAPS permission; ask an admin to run "
            "`heatmaps keys create --user <you> --permissions VIEW_HEATMAPS`."
        )
        st.stop()


def page_backend() -> Backend:
    """For pages: the backend when the database answers and the visitor may view; else stop the page.

    The entry point has already explained a database failure above the page, so the page just stops.
    """
    if st.session_state.get(ERROR_KEY):
        st.stop()
    require_view()
    return backend()


@contextmanager
def explained_errors() -> Iterator[None]:
    """Turn the service's and the database's errors into a message and stop the page (no traceback)."""
    try:
        yield
    except BadRequest as exc:
        st.error(f"This view cannot be shown: {exc.details}")
        st.stop()
    except NotFound as exc:
        st.info(f"Nothing to show: {exc.details}")
        st.stop()
    except Unavailable as exc:  # a ClickHouse shard down: never partial numbers
        st.error(exc.details)
        st.stop()
    except SQLAlchemyError as exc:
        st.error(describe_database_error(exc))
        st.stop()
