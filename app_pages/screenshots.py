"""Screenshots: upload PNG backdrops for a web page + breakpoint or a mobile screen, and list them.

Uploads are validated by ``data_layer.screenshots`` exactly as the API validates them. The newest
screenshot of a page + breakpoint (or screen) is the heatmap's backdrop.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context, filters, loaders
from dashboard.context import Backend
from dashboard.formatting import escape_markdown
from data_layer import breakpoints, screenshots
from data_layer.capture import jobs
from data_layer.capture.origins import SETTING
from data_layer.urls import InvalidUrlError, normalize_page_key

WEB, MOBILE = "Web page", "Mobile screen"
LIST_COLUMNS = {
    "thumbnail": st.column_config.ImageColumn("Preview", width="small"),
    "owner": st.column_config.TextColumn("Page or screen", width="large"),
    "breakpoint": st.column_config.TextColumn("Breakpoint", width="small"),
    "size": st.column_config.TextColumn("Pixels"),
    "kib": st.column_config.NumberColumn("Size (KiB)", format="%.0f"),
    "source": st.column_config.TextColumn("Source", help="upload, or capture: photographed by the product."),
    "url": st.column_config.TextColumn("Captured URL"),
    "created": st.column_config.TextColumn("Added (UTC)"),
    "current": st.column_config.CheckboxColumn("Backdrop", help="The newest one is used as the backdrop."),
}


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


def _upload_form(backend: Backend, page_keys: list[str], screen_names: list[str]) -> None:
    kind = st.segmented_control("Backdrop for", [WEB, MOBILE], default=WEB, key="shot_kind") or WEB
    with st.form("upload", clear_on_submit=True):
        if kind == WEB:
            columns = st.columns([4, 2])
            target = columns[0].selectbox(
                "Page URL",
                page_keys,
                index=None,
                accept_new_options=True,
                placeholder="Pick a page or paste its URL",
                help="Normalised like the API: query and fragment are dropped.",
            )
            breakpoint = columns[1].selectbox("Breakpoint", list(breakpoints.NAMES))
        else:
            target = st.selectbox(
                "Screen name",
                screen_names,
                index=None,
                accept_new_options=True,
                placeholder="Pick a screen or type its name (as the app sends it)",
            )
            breakpoint = None
        upload = st.file_uploader(
            "PNG file",
            type=["png"],
            help="At most 10 MiB, 4,000 px wide, 40,000 px high and 60 megapixels. A full-page "
            "screenshot at the page's CSS width lines the heatmap up best.",
        )
        submitted = st.form_submit_button("Upload", type="primary", icon=":material/upload:")
    if not submitted:
        return
    if not target or upload is None:
        st.error("Choose a page (or screen) and a PNG file first.")
        return
    try:
        entity = _save(backend, upload.getvalue(), kind, target, breakpoint)
    except (screenshots.ScreenshotError, InvalidUrlError) as exc:
        st.error(f"Upload refused: {exc}")
        return
    except SQLAlchemyError as exc:
        st.error(context.describe_database_error(exc))
        return
    loaders.remember_data_version(backend)
    owner = entity.get("pageKey") or entity.get("screenName") or ""
    st.success(
        f"Saved {entity['width']} x {entity['height']} px for {escape_markdown(owner)}"
        + (f" ({entity['breakpoint']})" if entity.get("breakpoint") else "")
        + ". It is now the backdrop."
    )


def _listing(backend: Backend, shots: list[dict[str, Any]]) -> pl.DataFrame:
    seen: set[tuple[str, str | None]] = set()
    rows = []
    for shot in shots:
        owner = shot.get("pageKey") or shot.get("screenName") or ""
        slot = (owner, shot.get("breakpoint"))
        rows.append(
            {
                "thumbnail": loaders.screenshot_thumbnail(backend, backend.key, shot["sha256"]),
                "owner": owner,
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
    "page": st.column_config.TextColumn("Page", width="large"),
    "breakpoint": st.column_config.TextColumn("Breakpoint", width="small"),
    "status": st.column_config.TextColumn("Status", width="small"),
    "attempts": st.column_config.NumberColumn("Tries", width="small"),
    "error": st.column_config.TextColumn("Reason", width="large"),
    "updated": st.column_config.TextColumn("Updated (UTC)"),
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
            "page": job.page_key,
            "breakpoint": job.breakpoint,
            "status": job.status,
            "attempts": job.attempts,
            "error": job.error or "",
            "updated": job.updated_at.isoformat(sep=" ", timespec="seconds"),
        }
        for job in recent
    ]
    st.dataframe(pl.DataFrame(rows), column_config=CAPTURE_COLUMNS, hide_index=True)


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
    st.dataframe(_listing(backend, web_shots), column_config=LIST_COLUMNS, hide_index=True, row_height=64)
else:
    st.info("No page screenshot yet.")
_captures(backend)
st.subheader("Mobile screens")
if mobile_shots:
    st.dataframe(
        _listing(backend, mobile_shots).drop("breakpoint", "source", "url"),
        column_config=LIST_COLUMNS,
        hide_index=True,
        row_height=64,
    )
else:
    st.info("No screen screenshot yet.")
