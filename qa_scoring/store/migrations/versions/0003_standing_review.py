"""Every submitted review is kept, so reviews.standing marks the one whose scores count."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("standing", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Until now the latest submitted review of a call was the one that counted: it stands.
    op.execute(
        """
        UPDATE reviews SET standing = TRUE
        WHERE status = 'submitted' AND id IN (
            SELECT r.id FROM reviews r
            WHERE r.status = 'submitted' AND NOT EXISTS (
                SELECT 1 FROM reviews later
                WHERE later.call_id = r.call_id AND later.status = 'submitted'
                  AND (later.submitted_at > r.submitted_at
                       OR (later.submitted_at = r.submitted_at AND later.id > r.id))
            )
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("standing")
