"""Screenshots: upload PNG backdrops for a web page + breakpoint or a mobile screen, and list them.

One flow: pick the page and breakpoint (or the screen), then Upload, the file picker's only button; the
file is stored as soon as it is picked. The page and breakpoint pickers are bound to ``pageKey`` and
``breakpoint`` (the API's names), so the Heatmap view's "Upload a backdrop" link arrives with them
chosen; not to that view's ``page`` and ``bp``, which Streamlit drops from a link followed from there
(they belong to its widgets). Uploads are validated by ``data_layer.screenshots`` exactly as the API
validates them. The newest screenshot of a page + breakpoint (or screen) is the heatmap's backdrop.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context, filters, loaders
from dashboard.context import Backend
from dashboard.formatting import escape_markdown
from dashboard.tables import PAGE_TABLE_COLUMNS, column_order, page_and_site, several_sites
from data_layer import breakpoints, screenshots
from data_layer.capture import jobs
from data_layer.capture.origins import SETTING
from data_layer.urls import InvalidUrlError, normalize_page_key

WEB, MOBILE = "Web page", "Mobile screen"
UPLOADS_KEY = "_screenshot_uploads"
"""Files stored this session: part of the file picker's key, so the picker is empty after each upload."""
OUTCOME_KEY = "_screenshot_upload_outcome"
PAGE_URL = st.column_config.TextColumn("Page URL", help="pageKey: origin + path, no query.")
LIST_COLUMNS = {
    "thumbnail": st.column_config.ImageColumn("Preview", width="small"),
    "page": PAGE_TABLE_COLUMNS["page"],
    "site": PAGE_TABLE_COLUMNS["site"],
    "owner": st.column_config.TextColumn("Screen", width="large"),
    "breakpoint": st.column_config.TextColumn("Breakpoint", width="small"),
    "size": st.column_config.TextColumn("Pixels"),
    "kib": st.column_config.NumberColumn("Size (KiB)", format="%.0f"),
    "source": st.column_config.TextColumn("Source", help="upload, or capture: photographed by the product."),
    "url": st.column_config.TextColumn("Captured URL"),
    "created": st.column_config.TextColumn("Added (UTC)"),
    "current": st.column_config.CheckboxColumn("Backdrop", help="The newest one is used as the backdrop."),
    "page_key": PAGE_URL,
}
WEB_COLUMNS = [name for name in LIST_COLUMNS if name != "owner"]  # "site" only when several sites
SCREEN_COLUMNS = ["thumbnail", "owner", "size", "kib", "created", "current"]


def _save(backend: Backend, data: bytes, kind: str, target: str, breakpoint: str | None) -> dict[str, Any]:
    """Validate and store; raises ScreenshotError / InvalidUrlError with a message for the uploader."""
    user = context.current_access().user
    if kind == WEB:
        return screenshots.save_screenshot(
            backend.engine,
            backend.settings.screenshot_dir,
            data,
            kind="web",
            page_key=normalize_page_key(target, backend.settings.page_key_rules),
            breakpoint=breakpoint,
            created_by=user,
        )
    return screenshots.save_screenshot(
        backend.engine,
        backend.settings.screenshot_dir,
        data,
        kind="mobile",
        screen_name=target,
        created_by=user,
    )


def _store(backend: Backend, data: bytes, kind: str, target: str, breakpoint: str | None) -> tuple[str, str]:
    """Store an upload; ``("success" | "error", what to tell the uploader)``."""
    try:
        entity = _save(backend, data, kind, target, breakpoint)
    except (screenshots.ScreenshotError, InvalidUrlError) as exc:
        return "error", f"Upload refused: {exc}"
    except SQLAlchemyError as exc:
        return "error", context.describe_database_error(exc)
    loaders.remember_data_version(backend)
    owner = entity.get("pageKey") or entity.get("screenName") or ""
    where = f" ({entity['breakpoint']})" if entity.get("breakpoint") else ""
    return "success", (
        f"Saved {entity['width']} x {entity['height']} px for {escape_markdown(owner)}{where}. "
        "It is now the backdrop."
    )


def _upload_form(backend: Backend, page_keys: list[str], screen_names: list[str]) -> None:
    """What the backdrop is for, then Upload: a picked file is stored at once and the picker empties
    (a new key per upload), so no file lingers to be stored twice and there is no second button."""
    kind = st.segmented_control("Backdrop for", [WEB, MOBILE], default=WEB, key="shot_kind") or WEB
    if kind == WEB:
        columns = st.columns([4, 2])
        target = columns[0].selectbox(
            "Page URL",
            page_keys,
            index=None,
            key="pageKey",
            bind="query-params",
            accept_new_options=True,
            placeholder="Pick a page or paste its URL",
            help="Normalised like the API: query and fragment are dropped.",
        )
        breakpoint = columns[1].selectbox(
            "Breakpoint", list(breakpoints.NAMES), key="breakpoint", bind="query-params"
        )
    else:
        target = st.selectbox(
            "Screen name",
            screen_names,
            index=None,
            accept_new_options=True,
            placeholder="Pick a screen or type its name (as the app sends it)",
        )
        breakpoint = None
    uploads = st.session_state.get(UPLOADS_KEY, 0)
    upload = st.file_uploader(
        "PNG file",
        type=["png"],
        key=f"shot_file_{uploads}",
        disabled=not target,
        help="Stored as soon as it is picked. At most 10 MiB, 4,000 px wide, 40,000 px high and 60 "
        "megapixels. A full-page screenshot at the page's CSS width lines the heatmap up best.",
    )
    if upload is not None and target:
        st.session_state[OUTCOME_KEY] = _store(backend, upload.getvalue(), kind, target, breakpoint)
        st.session_state[UPLOADS_KEY] = uploads + 1
        st.rerun()
    outcome = st.session_state.pop(OUTCOME_KEY, None)
    if outcome is not None:
        level, message = outcome
        (st.success if level == "success" else st.error)(message)
    elif not target:
        st.caption(f"Pick the {'page' if kind == WEB else 'screen'} first, then Upload its PNG.")


def _listing(backend: Backend, shots: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per screenshot (``shots`` newest first), the newest of each page + breakpoint (or screen)
    marked as the backdrop."""
    seen: set[tuple[str, str | None]] = set()
    rows = []
    for shot in shots:
        slot = (shot.get("pageKey") or shot.get("screenName") or "", shot.get("breakpoint"))
        rows.append(
            {
                "thumbnail": loaders.screenshot_thumbnail(backend, backend.key, shot["sha256"]),
                "page_key": shot.get("pageKey") or "",
                "owner": shot.get("screenName") or "",
                "breakpoint": shot.get("breakpoint") or "",
                "size": f"{shot['width']} x {shot['height']}",
                "kib": shot["sizeBytes"] / 1024,
                "source": shot.get("source") or "upload",
                "url": shot.get("url") or "",
                "created": shot["createdAt"].replace("T", " ").rstrip("Z")[:19],
                "current": slot not in seen,
            }
        )
        seen.add(slot)
    return pl.DataFrame(
        rows,
        schema={
            "thumbnail": pl.String,
            "page_key": pl.String,
            "owner": pl.String,
            "breakpoint": pl.String,
            "size": pl.String,
            "kib": pl.Float64,
            "source": pl.String,
            "url": pl.String,
            "created": pl.String,
            "current": pl.Boolean,
        },
    )


CAPTURE_COLUMNS = {
    "page": PAGE_TABLE_COLUMNS["page"],
    "site": PAGE_TABLE_COLUMNS["site"],
    "breakpoint": st.column_config.TextColumn("Breakpoint", width="small"),
    "status": st.column_config.TextColumn("Status", width="small"),
    "attempts": st.column_config.NumberColumn("Tries", width="small"),
    "error": st.column_config.TextColumn("Reason", width="large"),
    "updated": st.column_config.TextColumn("Updated (UTC)"),
    "page_key": PAGE_URL,
}


def _captures(backend: Backend) -> None:
    """Captures under way and those that failed, with their reason; done ones show as backdrops above."""
    recent = [job for job in jobs.recent_jobs(backend.engine) if job.status != "done"]
    origins = backend.settings.allowed_capture_origins
    st.subheader("Captures")
    if not origins:
        st.caption(
            f"Pages are photographed only for origins listed in `{SETTING}` (e.g. "
            "`HEATMAPS_CAPTURE_ORIGINS=https://your.site HEATMAPS_CAPTURE_AUTO=true heatmaps serve`)."
        )
    else:
        st.caption("Allowed origins: " + ", ".join(f"`{origin}`" for origin in origins))
    if not recent:
        st.caption("No capture is queued, running or failed.")
        return
    rows = [
        {
            "page_key": job.page_key,
            "breakpoint": job.breakpoint,
            "status": job.status,
            "attempts": job.attempts,
            "error": job.error or "",
            "updated": job.updated_at.isoformat(sep=" ", timespec="seconds"),
        }
        for job in recent
    ]
    table = pl.DataFrame(rows).with_columns(page_and_site(pl.col("page_key")))
    st.dataframe(
        table,
        column_config=CAPTURE_COLUMNS,
        column_order=column_order(CAPTURE_COLUMNS, with_site=several_sites(table)),
        hide_index=True,
    )


backend = context.page_backend()
st.title("Screenshots")
st.caption(
    "The heatmap is drawn over the newest screenshot of a page at a breakpoint (web) or of a screen "
    "(mobile). Without one, a neutral outline of the typical page size is shown."
)
version = loaders.data_version(backend)
chosen = filters.current_filters()
with context.explained_errors():
    ranked = loaders.ranked_pages(backend, backend.key, version, *chosen.dimension_args, None, "CLICKS", True)
    screen_names = loaders.touch_screens(backend, backend.key, version)

st.subheader("Upload")
if context.current_access().can_manage:
    _upload_form(backend, ranked["page_key"].to_list(), screen_names)
else:
    st.info("Uploading needs a token with the MANAGE_HEATMAPS permission.")

version = loaders.data_version(backend)
with context.explained_errors():
    web_shots = loaders.page_screenshots(backend, backend.key, version)
    mobile_shots = [
        shot
        for name in loaders.touch_screens(backend, backend.key, version)
        for shot in loaders.screen_screenshots(backend, backend.key, version, name)
    ]
st.subheader("Web pages")
if web_shots:
    pages = _listing(backend, web_shots).with_columns(page_and_site(pl.col("page_key")))
    st.dataframe(
        pages,
        column_config=LIST_COLUMNS,
        column_order=column_order(WEB_COLUMNS, with_site=several_sites(pages)),
        hide_index=True,
        row_height=64,
    )
else:
    st.info("No page screenshot yet.")
_captures(backend)
st.subheader("Mobile screens")
if mobile_shots:
    st.dataframe(
        _listing(backend, mobile_shots),
        column_config=LIST_COLUMNS,
        column_order=SCREEN_COLUMNS,
        hide_index=True,
        row_height=64,
    )
else:
    st.info("No screen screenshot yet.")
