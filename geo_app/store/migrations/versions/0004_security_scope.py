"""Column mappings belong to the account that saved them (issue 25 item 5).

Revision ID: 0004_security_scope
Revises: 0004_visit_records
Create Date: 2026-11-30 19:10:00

Mappings saved before this revision keep ``owner = ''``: they no longer apply to
anyone's web import (only to the command line), so no account's imports are
re-mapped by another's choice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_security_scope"
down_revision = "0004_visit_records"  # re-chained after main gained its 0004 migrations
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("header_mappings") as batch:
        batch.add_column(
            sa.Column("owner", sa.String(length=60), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("uq_header_mappings_signature", type_="unique")
        batch.create_unique_constraint("uq_header_mappings_owner", ["owner", "signature"])


def downgrade() -> None:
    """Revert (keeps one mapping per headers: the most recently saved)."""
    op.execute(
        "DELETE FROM header_mappings WHERE id NOT IN "
        "(SELECT MAX(id) FROM header_mappings GROUP BY signature)"
    )
    with op.batch_alter_table("header_mappings") as batch:
        batch.drop_constraint("uq_header_mappings_owner", type_="unique")
        batch.create_unique_constraint("uq_header_mappings_signature", ["signature"])
        batch.drop_column("updated_at")
        batch.drop_column("owner")
