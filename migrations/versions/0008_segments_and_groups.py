"""page groups and segments; the clicked element's box

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Events gain their session's campaign, referrer host, tags and visitor type (CONTRACT 14) and the clicked
element's box (CONTRACT 15). A visitor's first session goes into ``visitors``; for the events already
stored it is the session of the visitor's earliest event (ties: the smallest session id), and the
events of the visitor's other sessions become 'returning'. Saved groups get their table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

def _event_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("utm_source", sa.String(128), nullable=True),
        sa.Column("utm_medium", sa.String(128), nullable=True),
        sa.Column("utm_campaign", sa.String(128), nullable=True),
        sa.Column("referrer_host", sa.String(255), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("visitor_type", sa.String(9), nullable=False, server_default="new"),
        sa.Column("rect_x", sa.Float(), nullable=True),
        sa.Column("rect_y", sa.Float(), nullable=True),
        sa.Column("rect_width", sa.Float(), nullable=True),
        sa.Column("rect_height", sa.Float(), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("web_events") as batch:
        for column in _event_columns():
            batch.add_column(column)
    op.create_table(
        "visitors",
        sa.Column("visitor_id", sa.String(128), nullable=False),
        sa.Column("first_session_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("visitor_id", name=op.f("pk_visitors")),
    )
    op.create_table(
        "page_groups",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("pattern", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_page_groups_name")),
    )
    op.execute(
        "INSERT INTO visitors (visitor_id, first_session_id) "
        "SELECT w.visitor_id, MIN(w.session_id) FROM web_events w "
        "JOIN (SELECT visitor_id, MIN(ts) AS first_ts FROM web_events GROUP BY visitor_id) f "
        "ON w.visitor_id = f.visitor_id AND w.ts = f.first_ts GROUP BY w.visitor_id"
    )
    op.execute(
        "UPDATE web_events SET visitor_type = 'returning' WHERE session_id <> "
        "(SELECT first_session_id FROM visitors WHERE visitors.visitor_id = web_events.visitor_id)"
    )


def downgrade() -> None:
    op.drop_table("page_groups")
    op.drop_table("visitors")
    with op.batch_alter_table("web_events") as batch:
        for column in reversed(_event_columns()):
            batch.drop_column(column.name)
