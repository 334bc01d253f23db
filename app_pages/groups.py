"""Groups: saved page groups (CONTRACT 14), each a name for a pattern over pageKeys, with their totals
for the sidebar's window and filters; a selected group opens its heatmap (the Heatmap view with
``?pattern=``) or is deleted; a new one is saved after a live preview of the pages its pattern matches.
Saving and deleting need MANAGE_HEATMAPS, like the API's routes."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context, empty, filters, loaders
from dashboard.context import Backend
from dashboard.filters import Filters
from dashboard.formatting import count, escape_markdown, shorten
from dashboard.groups import GROUP_TABLE_COLUMNS, example_pattern, group_table
from dashboard.tables import SORT_LABELS as PAGE_SORT_LABELS
from dashboard.tables import sort_controls
from data_layer import page_groups
from data_layer.errors import BadRequest, NotFound
from data_layer.page_ref import PagePattern, parse_page_pattern

SORT_LABELS = {**PAGE_SORT_LABELS, "PAGE_KEY": "Name"}
NAME_KEY, PATTERN_KEY = "new_group_name", "new_group_pattern"
NOTICE_KEY = "_groups_notice"
PREVIEW_ROWS = 10


def _open_heatmap(group: dict[str, Any]) -> None:
    """The group's heatmap at its busiest breakpoint (the sidebar's filters follow in the URL)."""
    busiest = max(group["breakpoints"], key=lambda entry: entry["clicks"], default={"breakpoint": "desktop"})
    st.switch_page(
        "app_pages/heatmap.py", query_params={"pattern": group["pattern"], "bp": busiest["breakpoint"]}
    )


def _save(backend: Backend) -> None:
    """The Save button's callback: store the group, or say why not; the form is cleared once saved."""
    try:
        group = page_groups.create_group(
            backend.engine,
            st.session_state.get(NAME_KEY, ""),
            st.session_state.get(PATTERN_KEY, "").strip(),
            backend.settings.page_key_rules,
            context.current_access().user,
        )
    except BadRequest as exc:
        st.session_state[NOTICE_KEY] = ("error", f"Not saved: {exc.details}")
        return
    except SQLAlchemyError as exc:
        st.session_state[NOTICE_KEY] = ("error", context.describe_database_error(exc))
        return
    st.session_state[NAME_KEY] = st.session_state[PATTERN_KEY] = ""
    st.session_state[NOTICE_KEY] = ("success", f"Saved {group.name!r}: {group.pattern.text}.")


def _delete(backend: Backend, group_id: str, name: str) -> None:
    try:
        page_groups.delete_group(backend.engine, group_id)
    except (NotFound, SQLAlchemyError) as exc:
        st.session_state[NOTICE_KEY] = ("error", getattr(exc, "details", None) or str(exc))
        return
    st.session_state[NOTICE_KEY] = ("success", f"Deleted {name!r}. Its pages and their events stay.")


def _notice() -> None:
    kind, text = st.session_state.pop(NOTICE_KEY, (None, ""))
    if kind == "error":
        st.error(escape_markdown(text))
    elif kind == "success":
        st.success(escape_markdown(text))


def _preview(backend: Backend, chosen: Filters, text: str) -> PagePattern | None:
    """The pages the typed pattern matches, said before saving; the pattern when it is valid."""
    try:
        pattern = parse_page_pattern(text, backend.settings.page_key_rules)
    except BadRequest as exc:
        st.error(escape_markdown(exc.details))
        return None
    version = loaders.data_version(backend)
    stored = loaders.matching_pages(backend, backend.key, version, pattern)
    ranked = loaders.ranked_pages(
        backend, backend.key, version, *chosen.dimension_args, None, "CLICKS", True, pattern
    )
    if not stored:
        st.warning(
            f"No page with data matches {escape_markdown(pattern.text)} yet. It can be saved all the same."
        )
        return pattern
    st.caption(
        f"Matches **{count(len(stored))} pages** with data, {count(ranked.height)} with clicks in "
        f"{escape_markdown(chosen.describe())}; the busiest:"
    )
    shown = ranked.head(PREVIEW_ROWS).select(
        pl.col("page_key").alias("page"), pl.col("total_clicks").alias("clicks")
    )
    st.dataframe(
        shown,
        column_config={
            "page": st.column_config.TextColumn("Page"),
            "clicks": st.column_config.NumberColumn("Clicks"),
        },
        hide_index=True,
        width="stretch",
    )
    return pattern


def _create(backend: Backend, chosen: Filters, example: str) -> None:
    st.subheader("New group")
    columns = st.columns([2, 4])
    columns[0].text_input(
        "Name", key=NAME_KEY, max_chars=page_groups.MAX_NAME_LENGTH, placeholder="Product pages"
    )
    text = (
        columns[1]
        .text_input(
            "Pattern",
            key=PATTERN_KEY,
            live="400ms",
            placeholder=example,
            help="A page URL where * stands for one or more characters, / included (at most 5 *); the rest "
            "must match exactly, query and fragment left out.",
        )
        .strip()
    )
    pattern = _preview(backend, chosen, text) if text else None
    st.button(
        "Save group",
        type="primary",
        icon=":material/add:",
        disabled=pattern is None,
        on_click=_save,
        args=(backend,),
    )


def _selected(backend: Backend, group: dict[str, Any], can_manage: bool) -> None:
    """What can be done with the selected group: open its heatmap, delete it (after a confirmation)."""
    st.markdown(f"**{escape_markdown(group['name'])}** · {escape_markdown(shorten(group['pattern'], 90))}")
    actions = st.columns([1, 1, 3])
    if actions[0].button("Open heatmap", type="primary", icon=":material/local_fire_department:"):
        _open_heatmap(group)
    if can_manage:
        with actions[1].popover("Delete…", icon=":material/delete:"):
            st.markdown(
                f"Delete **{escape_markdown(group['name'])}**? Only the group goes: its pages and their "
                "events stay."
            )
            st.button(
                "Delete for good",
                type="primary",
                key="delete_group",
                on_click=_delete,
                args=(backend, group["id"], group["name"]),
            )


backend = context.page_backend()
st.title("Groups")
empty.stop_if_empty(backend, "web")
chosen = filters.current_filters()
access = context.current_access()
st.caption(
    f"Saved groups of pages, each added up over the pages its pattern matches, for {chosen.describe()} "
    "(UTC). **Pages**: matching pages with clicks. Rates and the issue score as on the Pages view."
)
_notice()

controls = st.columns([2, 2, 3], vertical_alignment="bottom")
sort_key, direction = sort_controls(controls, SORT_LABELS, sort_key="gsort", order_key="gdir")
version = loaders.data_version(backend)
with context.explained_errors():
    saved = page_groups.saved_groups(backend.engine)
    listed = loaders.group_list(
        backend,
        backend.key,
        version,
        tuple(saved.iter_rows()),
        *chosen.dimension_args,
        sort_key,
        direction != "asc",
    )
    busiest = loaders.ranked_pages(
        backend, backend.key, version, *chosen.dimension_args, None, "CLICKS", True
    )
example = example_pattern(busiest["page_key"].to_list()) or "https://example.com/products/*"

if listed.is_empty():
    st.info(
        f"No saved group yet. A group adds up pages built alike, e.g. every product page with "
        f"{escape_markdown(example)}."
    )
else:
    event = st.dataframe(
        group_table(listed),
        column_config=GROUP_TABLE_COLUMNS,
        column_order=list(GROUP_TABLE_COLUMNS),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"groups_table_{saved.height}",  # a saved or deleted group clears the selection
        width="stretch",
    )
    if event.selection.rows:
        _selected(backend, listed.row(event.selection.rows[0], named=True), access.can_manage)
    else:
        st.caption("Select a group to open its heatmap" + (" or delete it." if access.can_manage else "."))

if access.can_manage:
    _create(backend, chosen, example)
else:
    st.info("Saving and deleting groups needs a token with the MANAGE_HEATMAPS permission.")
