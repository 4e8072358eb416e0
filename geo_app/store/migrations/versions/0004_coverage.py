"""Coverage: stored services, coverage runs and named what-if scenarios.

Revision ID: 0004_coverage
Revises: 0004_transit_feeds (re-chained at the merge of main; was 0003)
Create Date: 2026-11-30 19:15:00

``coverage_services`` holds the services a team imported or added by hand (and
the retirement of a bundled one: a row with the same ``service_id`` and
``retired``); ``coverage_runs`` a computation (parameters, job state, the
aggregated result: never a case's point); ``coverage_scenarios`` named what-ifs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_coverage"
down_revision = "0004_transit_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "coverage_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=80), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("comuna_name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("location", sa.String(length=20), nullable=False),
        sa.Column("location_note", sa.String(length=300), nullable=False),
        sa.Column("days", sa.String(length=40), nullable=False),
        sa.Column("opens", sa.String(length=5), nullable=False),
        sa.Column("closes", sa.String(length=5), nullable=False),
        sa.Column("hours_assumed", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("retired_reason", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_services")),
        sa.UniqueConstraint("service_id", name=op.f("uq_coverage_services_service_id")),
    )
    op.create_table(
        "coverage_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_scenarios")),
        sa.UniqueConstraint("name", name=op.f("uq_coverage_scenarios_name")),
    )
    op.create_table(
        "coverage_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=True),
        sa.Column("job_state", sa.String(length=20), nullable=False),
        sa.Column("job_progress", sa.Float(), nullable=False),
        sa.Column("job_message", sa.String(length=300), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["coverage_scenarios.id"],
            name=op.f("fk_coverage_runs_scenario_id_coverage_scenarios"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_runs")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("coverage_runs")
    op.drop_table("coverage_scenarios")
    op.drop_table("coverage_services")
