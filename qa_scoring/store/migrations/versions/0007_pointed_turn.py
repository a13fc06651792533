"""Pointed turn: the transcript turn a reviewer points at when overriding a criterion."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("criterion_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("criterion_decisions", schema=None) as batch_op:
        batch_op.drop_column("turn")
