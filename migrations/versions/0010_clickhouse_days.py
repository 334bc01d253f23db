"""the ClickHouse daily rollup's state

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

One row per day of web events shipped to ClickHouse: the newest sequence number shipped and the build
of the daily rollup answering for the day (CONTRACT 16, data_layer/clickhouse/rollup.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clickhouse_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shipped_seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("build", sa.BigInteger(), nullable=True),
        sa.Column("previous_build", sa.BigInteger(), nullable=True),
        sa.Column("rolled_seq", sa.BigInteger(), nullable=True),
        sa.Column("rolled_generation", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_clickhouse_days")),
    )


def downgrade() -> None:
    op.drop_table("clickhouse_days")
