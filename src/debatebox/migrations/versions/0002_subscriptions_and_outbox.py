"""Email subscriptions and the mail outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from debatebox.models import MYSQL_TABLE, LongText, Timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debatebox_subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("confirmed_at", Timestamp, nullable=True),
        sa.Column("confirmation_sent_at", Timestamp, nullable=True),
        sa.Column("notices", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_subscriber"),
        sa.UniqueConstraint("email", name="uq_debatebox_subscriber_email"),
        **MYSQL_TABLE,
    )
    op.create_table(
        "debatebox_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("confirmed_at", Timestamp, nullable=True),
        sa.Column("digest_since", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["debatebox_subscriber.id"],
            name="fk_debatebox_subscription_subscriber_id_debatebox_subscriber",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["debatebox_thread.id"],
            name="fk_debatebox_subscription_thread_id_debatebox_thread",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["debatebox_comment.id"],
            name="fk_debatebox_subscription_comment_id_debatebox_comment",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_subscription"),
        sa.UniqueConstraint(
            "subscriber_id",
            "thread_id",
            "scope",
            name="uq_debatebox_subscription_subscriber_id_thread_id_scope",
        ),
        **MYSQL_TABLE,
    )
    op.create_index(
        "ix_debatebox_subscription_thread_status",
        "debatebox_subscription",
        ["thread_id", "status"],
    )
    op.create_table(
        "debatebox_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(190), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body_text", LongText, nullable=False),
        sa.Column("body_html", LongText, nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", Timestamp, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_outbox"),
        sa.UniqueConstraint("dedup_key", name="uq_debatebox_outbox_dedup_key"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_debatebox_outbox_due", "debatebox_outbox", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("debatebox_outbox")
    op.drop_table("debatebox_subscription")
    op.drop_table("debatebox_subscriber")
