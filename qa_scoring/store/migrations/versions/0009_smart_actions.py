"""SMART actions: a coaching action's measure, rubric criterion, target pass rate and owner."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measure", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rubric_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("criterion_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("target", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_action_items_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_action_items_owner_id_users"), "users", ["owner_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_check_constraint(op.f("ck_action_items_target"), "target BETWEEN 0 AND 100")


def downgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_action_items_target"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_action_items_owner_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_action_items_owner_id"))
        batch_op.drop_column("owner_id")
        batch_op.drop_column("target")
        batch_op.drop_column("criterion_id")
        batch_op.drop_column("rubric_id")
        batch_op.drop_column("measure")
