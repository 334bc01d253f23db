"""session recordings: the chunks of rrweb events a recorded session uploads

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

One row per uploaded chunk (CONTRACT 13), keyed by (session, seq) so a re-sent chunk is found, with
its events as the zlib-compressed JSON array; indexed by visitor (forget) and by the time it was stored
(purge, and the snapshot a sessions-list cursor keeps).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_chunks",
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(128), nullable=False),
        sa.Column("page_key", sa.String(2048), nullable=False),
        sa.Column("first_ts", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_ts", sa.DateTime(timezone=False), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("decoded_size", sa.Integer(), nullable=False),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "seq", name=op.f("pk_recording_chunks")),
    )
    op.create_index("ix_recording_chunks_visitor", "recording_chunks", ["visitor_id"], unique=False)
    op.create_index("ix_recording_chunks_created_at", "recording_chunks", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_recording_chunks_created_at", table_name="recording_chunks")
    op.drop_index("ix_recording_chunks_visitor", table_name="recording_chunks")
    op.drop_table("recording_chunks")
