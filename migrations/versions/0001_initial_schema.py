"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('permissions', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('app_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_meta'))
    )
    op.create_table('screenshots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('screen_name', sa.String(length=200), nullable=True),
    sa.Column('page_key', sa.String(length=2048), nullable=True),
    sa.Column('breakpoint', sa.String(length=16), nullable=True),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenshots'))
    )
    with op.batch_alter_table('screenshots', schema=None) as batch_op:
        batch_op.create_index('ix_screenshots_page', ['page_key', 'breakpoint', 'created_at'], unique=False)
        batch_op.create_index('ix_screenshots_screen', ['screen_name', 'created_at'], unique=False)

    op.create_table('touch_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('screen_name', sa.String(length=200), nullable=False),
    sa.Column('x', sa.Float(), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.String(length=128), nullable=True),
    sa.Column('event_type', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_touch_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_touch_events_event_id'))
    )
    with op.batch_alter_table('touch_events', schema=None) as batch_op:
        batch_op.create_index('ix_touch_events_screen_day', ['screen_name', 'day'], unique=False)
        batch_op.create_index('ix_touch_events_user', ['user_id'], unique=False)

    op.create_table('web_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('event_type', sa.String(length=8), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('page_key', sa.String(length=2048), nullable=False),
    sa.Column('breakpoint', sa.String(length=16), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('visitor_id', sa.String(length=128), nullable=False),
    sa.Column('viewport_width', sa.Integer(), nullable=False),
    sa.Column('viewport_height', sa.Integer(), nullable=False),
    sa.Column('document_width', sa.Integer(), nullable=False),
    sa.Column('document_height', sa.Integer(), nullable=False),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    sa.Column('selector', sa.String(length=512), nullable=True),
    sa.Column('dead', sa.Boolean(), nullable=False),
    sa.Column('fixed', sa.Boolean(), nullable=False),
    sa.Column('depth', sa.Float(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('browser', sa.String(length=64), nullable=True),
    sa.Column('rage', sa.Boolean(), nullable=False),
    sa.Column('rage_start', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_web_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_web_events_event_id'))
    )
    with op.batch_alter_table('web_events', schema=None) as batch_op:
        batch_op.create_index('ix_web_events_day_page', ['day', 'page_key'], unique=False)
        batch_op.create_index('ix_web_events_page_key', ['page_key'], unique=False)
        batch_op.create_index('ix_web_events_session_page', ['session_id', 'page_key'], unique=False)
        batch_op.create_index('ix_web_events_visitor', ['visitor_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('web_events', schema=None) as batch_op:
        batch_op.drop_index('ix_web_events_visitor')
        batch_op.drop_index('ix_web_events_session_page')
        batch_op.drop_index('ix_web_events_page_key')
        batch_op.drop_index('ix_web_events_day_page')

    op.drop_table('web_events')
    with op.batch_alter_table('touch_events', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_events_user')
        batch_op.drop_index('ix_touch_events_screen_day')

    op.drop_table('touch_events')
    with op.batch_alter_table('screenshots', schema=None) as batch_op:
        batch_op.drop_index('ix_screenshots_screen')
        batch_op.drop_index('ix_screenshots_page')

    op.drop_table('screenshots')
    op.drop_table('app_meta')
    op.drop_table('api_tokens')
