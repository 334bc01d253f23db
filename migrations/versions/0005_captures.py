"""captured backdrops: the capture queue and where each screenshot came from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Screenshots gain ``source`` ('upload' for every existing row), the URL a capture ended on and the
document size it measured; ``captures`` holds the queue of capture jobs (CONTRACT 12).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screenshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(8), nullable=False, server_default="upload"))
        batch_op.add_column(sa.Column("source_url", sa.String(2048), nullable=True))
        batch_op.add_column(sa.Column("document_width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("document_height", sa.Integer(), nullable=True))
    op.create_table(
        "captures",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("page_key", sa.String(2048), nullable=False),
        sa.Column("breakpoint", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=True),
        sa.Column("screenshot_id", sa.String(32), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captures")),
    )
    op.create_index("ix_captures_due", "captures", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_captures_page", "captures", ["page_key", "breakpoint", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_captures_page", table_name="captures")
    op.drop_index("ix_captures_due", table_name="captures")
    op.drop_table("captures")
    with op.batch_alter_table("screenshots", schema=None) as batch_op:
        batch_op.drop_column("document_height")
        batch_op.drop_column("document_width")
        batch_op.drop_column("source_url")
        batch_op.drop_column("source")
