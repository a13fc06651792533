"""Call outcomes: a post-call survey's CSAT, NPS and "resolved" per call, imported from a CSV."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "call_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("csat BETWEEN 1 AND 5", name=op.f("ck_call_outcomes_csat")),
        sa.CheckConstraint("nps BETWEEN 0 AND 10", name=op.f("ck_call_outcomes_nps")),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_outcomes_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_outcomes")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_outcomes_call_id")),
    )


def downgrade() -> None:
    op.drop_table("call_outcomes")
