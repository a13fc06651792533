"""Blind calibration sessions: chosen calls, members, a reference reviewer; reviews belong to one."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "calibration_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reference_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_calibration_sessions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reference_user_id"],
            ["users.id"],
            name=op.f("fk_calibration_sessions_reference_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_sessions")),
    )
    op.create_table(
        "calibration_session_calls",
        sa.Column("calibration_session_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calibration_session_id"],
            ["calibration_sessions.id"],
            name=op.f("fk_calibration_session_calls_calibration_session_id_calibration_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_calibration_session_calls_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "calibration_session_id", "call_id", name=op.f("pk_calibration_session_calls")
        ),
    )
    op.create_table(
        "calibration_session_members",
        sa.Column("calibration_session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calibration_session_id"],
            ["calibration_sessions.id"],
            name=op.f("fk_calibration_session_members_calibration_session_id_calibration_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calibration_session_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "calibration_session_id", "user_id", name=op.f("pk_calibration_session_members")
        ),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calibration_session_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_reviews_calibration_session_id"), ["calibration_session_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_calibration_session_id_calibration_sessions"),
            "calibration_sessions",
            ["calibration_session_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reviews_calibration_session_id_calibration_sessions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_reviews_calibration_session_id"))
        batch_op.drop_column("calibration_session_id")
    op.drop_table("calibration_session_members")
    op.drop_table("calibration_session_calls")
    op.drop_table("calibration_sessions")
