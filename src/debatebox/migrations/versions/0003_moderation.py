"""Moderation: per-thread modes, spam verdicts, reports, bans, the audit log, admins.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from debatebox.models import MYSQL_TABLE, Timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("debatebox_thread") as batch:
        batch.add_column(sa.Column("moderation", sa.String(16), nullable=True))
    with op.batch_alter_table("debatebox_comment") as batch:
        # Defaults fill the rows that exist already.
        batch.add_column(sa.Column("verdicts", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("user_agent", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("referrer", sa.String(500), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("report_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_debatebox_comment_status_created", "debatebox_comment", ["status", "created_at"]
    )
    op.create_table(
        "debatebox_ban",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_ban"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_debatebox_ban_kind_value", "debatebox_ban", ["kind", "value"])
    op.create_table(
        "debatebox_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("reporter", sa.String(64), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["debatebox_comment.id"],
            name="fk_debatebox_report_comment_id_debatebox_comment",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_report"),
        sa.UniqueConstraint(
            "comment_id", "reporter", name="uq_debatebox_report_comment_id_reporter"
        ),
        **MYSQL_TABLE,
    )
    op.create_table(
        "debatebox_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("moderator", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["debatebox_comment.id"],
            name="fk_debatebox_audit_comment_id_debatebox_comment",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["debatebox_thread.id"],
            name="fk_debatebox_audit_thread_id_debatebox_thread",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_audit"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_debatebox_audit_at", "debatebox_audit", ["at"])
    op.create_table(
        "debatebox_admin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_login_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_debatebox_admin"),
        sa.UniqueConstraint("username", name="uq_debatebox_admin_username"),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("debatebox_admin")
    op.drop_table("debatebox_audit")
    op.drop_table("debatebox_report")
    op.drop_table("debatebox_ban")
    op.drop_index("ix_debatebox_comment_status_created", table_name="debatebox_comment")
    with op.batch_alter_table("debatebox_comment") as batch:
        batch.drop_column("report_count")
        batch.drop_column("referrer")
        batch.drop_column("user_agent")
        batch.drop_column("verdicts")
    with op.batch_alter_table("debatebox_thread") as batch:
        batch.drop_column("moderation")
