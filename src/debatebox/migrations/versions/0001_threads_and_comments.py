"""Threads and comments.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from debatebox.models import MYSQL_TABLE, KeyString, LongText, Timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debatebox_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", KeyString, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_thread"),
        sa.UniqueConstraint("key", name="uq_debatebox_thread_key"),
        **MYSQL_TABLE,
    )
    op.create_table(
        "debatebox_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("reply_number", sa.Integer(), nullable=True),
        sa.Column("last_reply_number", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("website", sa.String(500), nullable=False),
        sa.Column("author_hash", sa.String(32), nullable=False),
        sa.Column("body_source", LongText, nullable=False),
        sa.Column("body_html", LongText, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("edited_at", Timestamp, nullable=True),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["debatebox_thread.id"],
            name="fk_debatebox_comment_thread_id_debatebox_thread",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["debatebox_comment.id"],
            name="fk_debatebox_comment_parent_id_debatebox_comment",
        ),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["debatebox_comment.id"],
            name="fk_debatebox_comment_root_id_debatebox_comment",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_comment"),
        sa.UniqueConstraint(
            "thread_id", "idempotency_key", name="uq_debatebox_comment_thread_id_idempotency_key"
        ),
        sa.UniqueConstraint(
            "thread_id",
            "number",
            "reply_number",
            name="uq_debatebox_comment_thread_id_number_reply_number",
        ),
        **MYSQL_TABLE,
    )
    op.create_index(
        "ix_debatebox_comment_thread_root", "debatebox_comment", ["thread_id", "root_id"]
    )
    op.create_index("ix_debatebox_comment_email", "debatebox_comment", ["email"])


def downgrade() -> None:
    op.drop_table("debatebox_comment")
    op.drop_table("debatebox_thread")
