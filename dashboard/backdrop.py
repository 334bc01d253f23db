"""The Heatmap view's backdrop controls: capture or retake the page's photograph, follow a capture
under way, and say plainly how to get a backdrop when the page's origin may not be captured."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import context, loaders
from dashboard.context import Backend
from dashboard.formatting import escape_markdown
from data_layer.capture import jobs
from data_layer.capture.origins import SETTING, url_origin

POLL_S = 2


def describe(shot: dict[str, Any] | None) -> str:
    """Where the backdrop comes from, for the caption under the heatmap."""
    if shot is None:
        return "no screenshot: a neutral outline of the typical page size"
    size = f"{shot['width']}x{shot['height']} px"
    if shot.get("source") == "capture":
        cut = ""
        if shot.get("documentHeight") and shot["documentHeight"] > shot["height"]:
            cut = f", cut from a {shot['documentHeight']:,} px page"
        return f"captured {shot['createdAt'][:10]} ({size}{cut})"
    return f"screenshot uploaded {shot['createdAt'][:10]} ({size})"


@st.fragment(run_every=POLL_S)
def _progress(backend: Backend, job_id: str) -> None:
    """Polls the running capture; when it ends, the whole page reruns to draw the new backdrop."""
    job = jobs.get_job(backend.engine, job_id)
    if job is None or job.status in ("done", "failed"):
        loaders.remember_data_version(backend)
        st.rerun(scope="app")
    waiting = " (waiting to retry: " + escape_markdown(job.error) + ")" if job.error else ""
    st.info(
        f"Capturing the {job.breakpoint} backdrop: {job.status}{waiting}. The API process "
        "(`heatmaps api` or `heatmaps serve`) runs captures; this view updates when it is done.",
        icon=":material/photo_camera:",
    )


def backdrop_controls(backend: Backend, page_key: str, breakpoint: str, shot: dict[str, Any] | None) -> None:
    origin = url_origin(page_key)
    if origin not in backend.settings.allowed_capture_origins:
        if shot is None:
            st.caption(
                f"No backdrop for this page yet. To have it photographed, run the product with "
                f"`{SETTING}={origin}` (and `HEATMAPS_CAPTURE_AUTO=true` to capture every page with "
                "clicks), or upload a full-page PNG on the Screenshots page."
            )
            if context.current_access().can_manage:
                st.page_link(
                    "app_pages/screenshots.py",
                    label="Upload a backdrop",
                    icon=":material/upload:",
                    query_params={"pageKey": page_key, "breakpoint": breakpoint},  # its pickers' keys
                )
        return
    job = jobs.latest_job(backend.engine, page_key, breakpoint)
    if job is not None and job.status in jobs.ACTIVE:
        _progress(backend, job.id)
        return
    if (
        job is not None
        and job.status == "failed"
        and (shot is None or job.updated_at.isoformat() > shot["createdAt"])
    ):
        st.warning(
            f"The last capture failed: {escape_markdown(job.error or 'unknown reason')}",
            icon=":material/error:",
        )
    if not context.current_access().can_manage:
        return
    label = "Retake backdrop" if shot else "Capture backdrop"
    if st.button(
        label,
        icon=":material/photo_camera:",
        key="capture_backdrop",
        help="Photograph this page at this breakpoint with headless Chromium.",
    ):
        jobs.enqueue(
            backend.engine,
            page_key,
            breakpoint,
            page_key,
            requested_by=context.current_access().user or "dashboard",
        )
        st.rerun()
