"""session recordings: one row per recorded session beside its chunks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

The per-session cap and the sessions list's ``hasRecording`` read ``recordings`` (a row per recorded
session) instead of going over every chunk: 1 M chunks of 50,000 sessions took SQLite 150-570 ms to
list their sessions. Filled from the chunks already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("decoded_size", sa.BigInteger(), nullable=False),
        sa.Column("first_stored_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_recordings")),
    )
    op.execute(
        "INSERT INTO recordings (session_id, chunks, decoded_size, first_stored_at) "
        "SELECT session_id, COUNT(*), SUM(decoded_size), MIN(created_at) FROM recording_chunks "
        "GROUP BY session_id"
    )


def downgrade() -> None:
    op.drop_table("recordings")
