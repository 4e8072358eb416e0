"""Coverage: printable map files (PDF/PNG) made by a background job.

Revision ID: 0005_covexp_map_files
Revises: 0004_security_scope
Create Date: 2026-12-01 04:40:00

``coverage_map_files`` holds one printable map of a coverage run per format and
per audience (``scope_key``: staff see exact counts, a mesa the protected ones
for its comunas), with its job state and, when ready, the file itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_covexp_map_files"
down_revision = "0005_jobs22_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "coverage_map_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fmt", sa.String(length=8), nullable=False),
        sa.Column("scope_key", sa.String(length=400), nullable=False),
        sa.Column("suppression_k", sa.Integer(), nullable=False),
        sa.Column("job_state", sa.String(length=20), nullable=False),
        sa.Column("job_progress", sa.Float(), nullable=False),
        sa.Column("job_message", sa.String(length=300), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["coverage_runs.id"],
            name=op.f("fk_coverage_map_files_run_id_coverage_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_map_files")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("coverage_map_files")
