"""What the sidebar's segment filters (CONTRACT 14) offer and say: the campaign, referrer, visitor type
and tags a session came with, bound to the URL under the API's parameter names (drawn by
:mod:`dashboard.filters`).

The query parameters are ``utmSource``, ``utmMedium``, ``utmCampaign``, ``referrerHost``,
``visitorType`` (``new`` or ``returning``) and ``tag`` (``key:value``, repeated for several, all must
match), so a dashboard link and an API call spell a segment alike. The choices come from the distinct
segments of the days with data (:func:`data_layer.explore.segment_values`), never from the events one by
one. Every event has a visitor type; the other filters are offered only when the data holds such
values, and the section stays one collapsed line until a segment filter is set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from data_layer.filters import WebFilters

SELECTS = {
    "utm_source": ("utmSource", "UTM source", "utm_source of the session's landing URL."),
    "utm_medium": ("utmMedium", "UTM medium", "utm_medium of the session's landing URL."),
    "utm_campaign": ("utmCampaign", "UTM campaign", "utm_campaign of the session's landing URL."),
    "referrer_host": ("referrerHost", "Referrer", "The host the session came from (never its path)."),
}
"""WebFilters field -> (query parameter and widget key, label, help)."""
VISITOR_KEY = "visitorType"
TAG_KEY = "tag"
KEYS = (*(key for key, _, _ in SELECTS.values()), VISITOR_KEY, TAG_KEY)
"""Every widget key (= query parameter) of the section."""


@dataclass(frozen=True)
class SegmentChoices:
    """The values the data holds per select of :data:`SELECTS` (sorted) and its tags as ``key:value``."""

    values: Mapping[str, list[str]]
    tags: list[str]

    @property
    def any(self) -> bool:
        """Whether the data holds a campaign, referrer or tag at all (every event has a visitor type)."""
        return bool(self.tags) or any(self.values.values())


def tag_options(tags: pl.Series) -> list[str]:
    """Every ``key:value`` of the stored tag sets (canonical JSON objects, null for none), sorted."""
    pairs = {
        f"{key}:{value}"
        for text in tags.drop_nulls().unique().to_list()
        for key, value in json.loads(text).items()
    }
    return sorted(pairs)


def segment_choices(values: pl.DataFrame) -> SegmentChoices:
    """The choices of :func:`data_layer.explore.segment_values`' frame (one row per distinct segment)."""
    return SegmentChoices(
        {field: sorted(values[field].drop_nulls().unique().to_list()) for field in SELECTS},
        tag_options(values["tags"]),
    )


NO_CHOICES = SegmentChoices({field: [] for field in SELECTS}, [])
"""The choices of a data set without web events."""


def describe(where: WebFilters) -> list[str]:
    """The segment filters set in ``where``, each a few words for a caption (``source google``,
    ``returning visitors``, ``variant:B``)."""
    words = {
        "utm_source": "source",
        "utm_medium": "medium",
        "utm_campaign": "campaign",
        "referrer_host": "from",
    }
    parts = [f"{words[field]} {value}" for field in SELECTS if (value := getattr(where, field))]
    if where.visitor_type:
        parts.append(f"{where.visitor_type} visitors")
    return parts + [f"{key}:{value}" for key, value in where.tags]
