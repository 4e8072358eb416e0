"""Long work as jobs with their state in the database (issue 22 item 2).

Revision ID: 0005_jobs22_jobs
Revises: 0004_security_scope
Create Date: 2026-12-01 04:30:00

``jobs`` holds imports' previews and stores and PDF reports run by a thread or an
RQ worker: input, state, rows done of total, the Spanish reason of a failure,
the result (JSON) and a produced file. A restart of the web server loses none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_jobs22_jobs"
down_revision = "0004_security_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("output", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    op.create_index(op.f("ix_jobs_kind"), "jobs", ["kind"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_jobs_kind"), table_name="jobs")
    op.drop_table("jobs")
