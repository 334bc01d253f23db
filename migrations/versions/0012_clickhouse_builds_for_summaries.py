"""the ClickHouse daily rollup counts what a page summary needs too

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A build of the daily rollup now also writes a page summary's bins, dead bins and sessions per day
(``web_daily_bins``, ``web_daily_dead``, ``web_daily_sessions``: data_layer/clickhouse/rollup.py). The
builds named before they existed have no such rows: they are voided, as by 0011, so the shipper builds
every quiet day again and meanwhile the reads scan, as for a day not built yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_days = sa.table("clickhouse_days", sa.column("rolled_seq"), sa.column("rolled_generation"))


def upgrade() -> None:
    op.execute(sa.update(_days).values(rolled_seq=None, rolled_generation=None))


def downgrade() -> None:
    """Nothing to undo: the builds are made again either way."""
