"""the ClickHouse daily rollup counts by country, region and browser too

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

A build of the daily rollup now also writes ``web_daily_dimensions``, which answers the pages list
filtered by country, region or browser (data_layer/clickhouse/rollup.py). The builds named before it
existed have no such rows: they are voided, so the shipper builds every quiet day again (31 a round)
and meanwhile the lists scan, as for a day not built yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_days = sa.table("clickhouse_days", sa.column("rolled_seq"), sa.column("rolled_generation"))


def upgrade() -> None:
    op.execute(sa.update(_days).values(rolled_seq=None, rolled_generation=None))


def downgrade() -> None:
    """Nothing to undo: the builds are made again either way."""
