"""Entry point of the dashboard: page config, auth gate, shared sidebar filters, navigation.

Run with ``heatmaps dashboard`` (or ``streamlit run streamlit_app.py``). Pages live in ``app_pages/``; the
building blocks in ``dashboard/``; every number comes from ``data_layer.service``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context, filters, loaders
from data_layer.errors import Unavailable

# A file, not a Material Symbol: Streamlit fetches a ":material/...:" page icon from fonts.gstatic.com,
# and nothing of this dashboard may leave the machine. A local SVG becomes a data: URI in the page.
# The Material icons of pages and buttons are drawn with the font Streamlit serves itself.
PAGE_ICON = Path(__file__).resolve().parent / "static" / "favicon.svg"

st.set_page_config(page_title="Heatmaps", page_icon=PAGE_ICON, layout="wide")
context.load_secrets_into_environment()

navigation = st.navigation(
    [
        st.Page("app_pages/pages.py", title="Pages", icon=":material/table_chart:", default=True),
        st.Page("app_pages/heatmap.py", title="Heatmap", icon=":material/local_fire_department:"),
        st.Page("app_pages/groups.py", title="Groups", icon=":material/folder_copy:"),
        st.Page(
            "app_pages/session.py", title="Session replay", icon=":material/play_circle:", url_path="session"
        ),
        st.Page("app_pages/mobile.py", title="Mobile", icon=":material/smartphone:"),
        st.Page("app_pages/screenshots.py", title="Screenshots", icon=":material/image:"),
    ]
)

try:
    backend = context.backend()
    access = context.render_sign_in(backend.settings, backend.engine)
    if access.can_view:
        loaders.remember_data_version(backend)
        filters.render_filters(backend)
    st.session_state[context.ERROR_KEY] = None
except SQLAlchemyError as exc:
    st.session_state[context.ERROR_KEY] = context.describe_database_error(exc)
    st.error(st.session_state[context.ERROR_KEY])
    st.caption("Check `HEATMAPS_DATABASE_URL` and that the database server is running, then reload.")
except Unavailable as exc:  # the events' store (ClickHouse) cannot answer now
    st.session_state[context.ERROR_KEY] = exc.details
    st.error(exc.details)

navigation.run()
