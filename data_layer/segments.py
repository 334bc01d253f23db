"""Segments (CONTRACT 14): the campaign, referrer, tags and visitor type an event's session came with,
and the filters over them.

Every store hands these six values to readers as one ``segment`` key (the values joined by a control
character, which ingestion refuses inside them). A session keeps one key, so a data set has few distinct
keys however many events it holds: a filter is decided once per distinct key (:func:`matching_keys`)
and then applied to the events as a match against those keys, and the replica holds the key as one
categorical code per event instead of six columns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache

import polars as pl

from data_layer.filters import WebFilters

SEPARATOR = "\x1f"
SEGMENT_COLUMNS = ("visitor_type", "utm_source", "utm_medium", "utm_campaign", "referrer_host", "tags")
"""The stored columns a segment key joins, in key order (null as an empty part)."""
EXACT_FILTERS = {
    "visitor_type": "visitor_type",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "referrer_host": "referrer_host",
}
"""WebFilters field -> key part, each a case-insensitive exact match."""


def canonical_tags(tags: Mapping[str, str] | None) -> str | None:
    """Tags as stored: compact JSON with sorted keys, so equal tag sets are equal texts; None when none.

    Every event of a session carries the same tags, so the text is made once per distinct set."""
    if not tags:
        return None
    return _tags_text(tuple(tags.items()))


@lru_cache(maxsize=4096)
def _tags_text(items: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(sorted(items)), separators=(",", ":"), ensure_ascii=False)


def tag_pair(key: str, value: str) -> str:
    """One tag as it appears inside :func:`canonical_tags`' text, lower-cased for matching."""
    return f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False)}".lower()


def has_segment_filter(filters: WebFilters) -> bool:
    return bool(filters.tags) or any(getattr(filters, name) for name in EXACT_FILTERS)


def split_keys(keys: pl.Series) -> pl.DataFrame:
    """One column per part of :data:`SEGMENT_COLUMNS` (String, empty parts null) for each key."""
    parts = keys.cast(pl.String).str.split_exact(SEPARATOR, len(SEGMENT_COLUMNS) - 1)
    return (
        parts.struct.rename_fields(list(SEGMENT_COLUMNS))
        .struct.unnest()
        .with_columns(pl.all().replace("", None))
    )


def matching_keys(keys: pl.Series, filters: WebFilters) -> pl.Series:
    """The keys among ``keys`` (distinct segment keys) whose session matches every segment filter.

    Tags match when the stored JSON holds the ``"key":"value"`` pair between its delimiters, so a pair
    never matches inside another tag's value.
    """
    keys = keys.cast(pl.String).drop_nulls().unique()
    parts = split_keys(keys)
    conditions = [
        pl.col(part).str.to_lowercase() == wanted.lower()
        for field, part in EXACT_FILTERS.items()
        if (wanted := getattr(filters, field))
    ]
    conditions += [
        pl.col("tags").str.to_lowercase().str.contains(f"[{{,]{re.escape(tag_pair(key, value))}[,}}]")
        for key, value in filters.tags
    ]
    matched = parts.select(pl.all_horizontal(conditions).fill_null(False) if conditions else pl.lit(True))
    return keys.filter(matched.to_series())
