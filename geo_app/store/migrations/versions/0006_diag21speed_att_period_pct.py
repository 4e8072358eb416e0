"""Attendance: an index on (period, pct) for the diagnosis' monthly counts.

Revision ID: 0006_diag21speed_att_period_pct
Revises: 0005_covexp_map_files
Create Date: 2026-12-01 10:45:00

The diagnosis counts attendance rows by month and percentage
(``geo_app.reports.service._pct_counts``). Without an index SQLite sorts every row
for that ``GROUP BY``; with this one it reads the index in order (bench/reports.py,
540,000 rows: about 0.5 s of CPU less per diagnosis computed).
"""

from __future__ import annotations

from alembic import op

revision = "0006_diag21speed_att_period_pct"
down_revision = "0005_covexp_map_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("attendance") as batch_op:
        batch_op.create_index("ix_attendance_period_pct", ["period", "pct"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("attendance") as batch_op:
        batch_op.drop_index("ix_attendance_period_pct")
