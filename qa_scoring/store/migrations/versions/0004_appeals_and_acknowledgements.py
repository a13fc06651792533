"""Appeals may be partly upheld (proposed and outcome results), and agents acknowledge reviews."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

OLD_STATUSES = "status IN ('open', 'upheld', 'rejected', 'withdrawn')"
NEW_STATUSES = "status IN ('open', 'upheld', 'partial', 'rejected', 'withdrawn')"


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_result", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("outcome_result", sa.String(length=10), nullable=True))
        batch_op.drop_constraint(op.f("ck_disputes_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_disputes_status"), NEW_STATUSES)
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("acknowledgement", sa.Text(), nullable=False, server_default=""))
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_acknowledged_by_id_users"),
            "users",
            ["acknowledged_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reviews_acknowledged_by_id_users"), type_="foreignkey")
        batch_op.drop_column("acknowledgement")
        batch_op.drop_column("acknowledged_by_id")
        batch_op.drop_column("acknowledged_at")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_disputes_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_disputes_status"), OLD_STATUSES)
        batch_op.drop_column("outcome_result")
        batch_op.drop_column("proposed_result")
