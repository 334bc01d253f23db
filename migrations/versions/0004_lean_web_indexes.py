"""web events: fewer, cheaper secondary indexes for ingestion

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Every secondary index is paid for by each ingested event, and random keys (page URLs) cost the most.
Queries by page and window are answered by the columnar replica, never by SQL, so the ``page_key`` and
``(day, page_key)`` indexes served only the SQL reference path; what SQL itself still looks up by day
(retention's purge, the dashboard's first and last day) needs only ``day``, an index that grows at its
end. ``flags_rev`` is set on the few rows whose rage flags changed after insertion, so a partial index
over those rows serves the replica's catch-up (``flags_rev > mark``) without an entry per event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FLAGGED = sa.text("flags_rev IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("web_events", schema=None) as batch_op:
        batch_op.drop_index("ix_web_events_page_key")
        batch_op.drop_index("ix_web_events_day_page")
        batch_op.drop_index("ix_web_events_flags_rev")
        batch_op.create_index("ix_web_events_day", ["day"], unique=False)
        batch_op.create_index(
            "ix_web_events_flags_rev",
            ["flags_rev"],
            unique=False,
            sqlite_where=_FLAGGED,
            postgresql_where=_FLAGGED,
        )


def downgrade() -> None:
    with op.batch_alter_table("web_events", schema=None) as batch_op:
        batch_op.drop_index("ix_web_events_flags_rev")
        batch_op.drop_index("ix_web_events_day")
        batch_op.create_index("ix_web_events_flags_rev", ["flags_rev"], unique=False)
        batch_op.create_index("ix_web_events_day_page", ["day", "page_key"], unique=False)
        batch_op.create_index("ix_web_events_page_key", ["page_key"], unique=False)
