"""the ClickHouse shipper's progress

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

One row per shipped stream (web, touch events): how far ClickHouse holds the events (CONTRACT 16),
written only after ClickHouse acknowledged them, so a restart re-checks at most one block.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clickhouse_shipping",
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("shipped_seq", sa.BigInteger(), nullable=False),
        sa.Column("flags_mark", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_clickhouse_shipping")),
    )


def downgrade() -> None:
    op.drop_table("clickhouse_shipping")
