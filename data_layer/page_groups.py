"""Saved page groups (CONTRACT 14): a name for a pattern over pageKeys, and each group's totals.

A group's totals are those of the pages list added up over the pages its pattern matches, from the
same per-page click counts the pages list sums, so a group of one page shows exactly that page's entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import Engine, delete, select

from data_layer import metrics
from data_layer.db import write_transaction
from data_layer.errors import BadRequest, NotFound
from data_layer.page_ref import PagePattern, parse_page_pattern
from data_layer.schema import page_groups
from data_layer.urls import PageKeyRules

MAX_NAME_LENGTH = 100
MAX_GROUPS = 1000
"""Enough for any site's templates; bounds what one list computes."""
GROUP_SCHEMA = {"id": pl.String, "name": pl.String, "pattern": pl.String}


@dataclass(frozen=True)
class PageGroup:
    id: str
    name: str
    pattern: PagePattern


def parse_group_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name is required: a non-empty string")
    name = value.strip()
    if len(name) > MAX_NAME_LENGTH or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise BadRequest(f"name must be at most {MAX_NAME_LENGTH} characters without control characters")
    return name


def create_group(
    engine: Engine, name: object, pattern: object, rules: PageKeyRules, created_by: str | None
) -> PageGroup:
    """Store a new group; 400 for a bad name or pattern, a name already taken, or too many groups."""
    if not isinstance(pattern, str):
        raise BadRequest("pattern is required: a pageKey with '*' wildcards")
    group = PageGroup(uuid.uuid4().hex, parse_group_name(name), parse_page_pattern(pattern, rules))
    with write_transaction(engine) as conn:
        names = conn.scalars(select(page_groups.c.name)).all()
        if any(existing.lower() == group.name.lower() for existing in names):
            raise BadRequest(f"a page group named {group.name!r} exists already")
        if len(names) >= MAX_GROUPS:
            raise BadRequest(f"at most {MAX_GROUPS} page groups can be saved; delete some first")
        conn.execute(
            page_groups.insert().values(
                id=group.id,
                name=group.name,
                pattern=group.pattern.text,
                created_at=datetime.now(UTC).replace(tzinfo=None),
                created_by=created_by,
            )
        )
    return group


def delete_group(engine: Engine, group_id: str) -> None:
    with write_transaction(engine) as conn:
        if not conn.execute(delete(page_groups).where(page_groups.c.id == group_id)).rowcount:
            raise NotFound(f"no page group with id {group_id[:40]!r}")


def saved_groups(engine: Engine) -> pl.DataFrame:
    """Every group (:data:`GROUP_SCHEMA`), by name."""
    query = select(page_groups.c.id, page_groups.c.name, page_groups.c.pattern).order_by(page_groups.c.name)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=GROUP_SCHEMA, orient="row")


def group_totals(groups: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """Per group of ``groups`` (:data:`GROUP_SCHEMA`), its totals in the pages list's shape plus
    ``pages`` (matching pages with clicks), from :func:`metrics.click_counts` rows; groups without a
    matching click have zero totals. Row order unspecified.

    A store may count a page in many rows (one per day and run): they are added up first, as counts
    add up, so the patterns and the join see one row per page and breakpoint; every pattern is matched
    in one pass over the distinct pages."""
    per_page = (
        counts.lazy()
        .group_by("page_key", "breakpoint")
        .agg(pl.col(metrics.COUNT_COLUMNS).sum())
        .filter(pl.col("clicks") > 0)
        .with_columns(pl.col("page_key").cast(pl.String))
        .collect()
    )
    ids = groups.get_column("id").to_list()
    matched = per_page.select(pl.col("page_key").unique()).with_columns(
        pl.col("page_key").str.contains(PagePattern(pattern).regex).alias(f"m{n}")
        for n, pattern in enumerate(groups.get_column("pattern").to_list())
    )
    members = (
        matched.unpivot(index="page_key", variable_name="column", value_name="matches")
        .filter("matches")
        .select(
            pl.col("column").str.slice(1).cast(pl.Int64).replace_strict(range(len(ids)), ids).alias("id"),
            "page_key",
        )
        if ids
        else pl.DataFrame(schema={"id": pl.String, "page_key": pl.String})
    )
    per_group = members.join(per_page, on="page_key").with_columns(pl.col("id").alias("page_key"))
    totals = metrics.pages_from_counts(per_group).rename({"page_key": "id"})
    page_counts = members.group_by("id").agg(pages=pl.len().cast(pl.Int64))
    return (
        groups.join(totals, on="id", how="left")
        .join(page_counts, on="id", how="left")
        .with_columns(
            pl.col("total_clicks", "rage_clicks", "dead_clicks", "pages").fill_null(0),
            pl.col("rage_rate", "dead_rate", "issue_score").fill_null(0.0),
            pl.col("breakpoints").fill_null(pl.lit([], dtype=totals.schema["breakpoints"])),
        )
    )
