"""rage flag revisions for incremental readers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("flags_rev", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index("ix_web_events_flags_rev", ["flags_rev"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_events", schema=None) as batch_op:
        batch_op.drop_index("ix_web_events_flags_rev")
        batch_op.drop_column("flags_rev")
