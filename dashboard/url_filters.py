"""The sidebar's filters as the current URL carries them, for the links the dashboard makes to itself.

A replay link opens a new tab, a new Streamlit session whose sidebar starts from that link's URL alone:
without the sidebar's query parameters the session would open in the default window and unfiltered,
and every view reached from it (the Heatmap view it came from included) would lose the user's context.
"""

from __future__ import annotations

import streamlit as st

from dashboard import segment_filters

SIDEBAR_KEYS = ("dates", "country", "region", "browser", "q", *segment_filters.KEYS)
"""The query parameters :mod:`dashboard.filters` binds its widgets to (each widget's key)."""


def sidebar_params() -> list[tuple[str, str]]:
    """The current URL's sidebar parameters as ``(key, value)`` pairs, in :data:`SIDEBAR_KEYS` order, a
    repeated one (``tag``) once per value. A filter at its default is not in the URL, so not here."""
    return [(key, value) for key in SIDEBAR_KEYS for value in st.query_params.get_all(key)]
