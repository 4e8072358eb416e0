"""Visit records sent by the phones (idempotent by the device's UUID) and the case workflow.

Cases get a stage (since when, closing reason) and a doubtful-location flag;
``case_stages`` holds proposed and decided stage changes.

Revision ID: 0004_visit_records
Revises: 0004_gazetteer_entries (re-chained after merging main)
Create Date: 2026-11-30 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_visit_records"
down_revision = "0004_gazetteer_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "visit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("gestor_code", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("contacted", sa.String(length=200), nullable=False),
        sa.Column("barriers", sa.JSON(), nullable=False),
        sa.Column("referral", sa.JSON(), nullable=False),
        sa.Column("agreement", sa.Text(), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("next_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("gps_poor", sa.Boolean(), nullable=False),
        sa.Column("device_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("future_clock", sa.Boolean(), nullable=False),
        sa.Column("corrects", sa.String(length=36), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("far", sa.Boolean(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("minutes_from_plan", sa.Float(), nullable=True),
        sa.Column("conflict", sa.String(length=200), nullable=False),
        sa.Column("rules_version", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_visit_records_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_records")),
        sa.UniqueConstraint("uuid", name=op.f("uq_visit_records_uuid")),
    )
    op.create_index(op.f("ix_visit_records_case_id"), "visit_records", ["case_id"])
    op.create_index(op.f("ix_visit_records_gestor_code"), "visit_records", ["gestor_code"])
    op.create_index(op.f("ix_visit_records_received_at"), "visit_records", ["received_at"])
    op.add_column(
        "cases", sa.Column("stage", sa.String(length=30), nullable=False, server_default="alerta")
    )
    op.add_column("cases", sa.Column("stage_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "cases",
        sa.Column("closed_reason", sa.String(length=40), nullable=False, server_default=""),
    )
    op.add_column(
        "cases",
        sa.Column("location_doubtful", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(op.f("ix_cases_stage"), "cases", ["stage"])
    op.create_table(
        "case_stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("from_stage", sa.String(length=30), nullable=False),
        sa.Column("proposed_stage", sa.String(length=30), nullable=False),
        sa.Column("to_stage", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("visit_uuid", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_stages_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_stages")),
    )
    op.create_index(op.f("ix_case_stages_case_id"), "case_stages", ["case_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_case_stages_case_id"), table_name="case_stages")
    op.drop_table("case_stages")
    op.drop_index(op.f("ix_cases_stage"), table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for column in ("location_doubtful", "closed_reason", "stage_since", "stage"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_visit_records_received_at"), table_name="visit_records")
    op.drop_index(op.f("ix_visit_records_gestor_code"), table_name="visit_records")
    op.drop_index(op.f("ix_visit_records_case_id"), table_name="visit_records")
    op.drop_table("visit_records")
