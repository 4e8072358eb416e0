"""Gazetteer entries the team imports or confirms; each case's geocoding source and note.

Revision ID: 0004_gazetteer_entries
Revises: 0004_coverage (written on 0003; chained after main's last migration when main was
merged, so that the branch has one head)
Create Date: 2026-11-30 19:00:00

``gazetteer_entries`` holds the places of an imported gazetteer file (kind
``importado``), what the team confirmed (kind ``confirmado``: a pin, a GPS fix,
a correction on the places page) and the entries of other sources the team
retired (kind ``retiro``: ``ref`` names the retired entry). Nothing is deleted:
a removed entry is ``retired``, with who and when.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_gazetteer_entries"
down_revision = "0004_coverage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "gazetteer_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("comuna", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("address_key", sa.String(length=600), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("retired_by", sa.String(length=120), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_gazetteer_entries_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gazetteer_entries")),
    )
    op.create_index(
        op.f("ix_gazetteer_entries_comuna"), "gazetteer_entries", ["comuna"], unique=False
    )
    op.create_index(op.f("ix_gazetteer_entries_kind"), "gazetteer_entries", ["kind"], unique=False)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("geocode_source", sa.String(length=300), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("geocode_note", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("geocode_note")
        batch.drop_column("geocode_source")
    op.drop_index(op.f("ix_gazetteer_entries_kind"), table_name="gazetteer_entries")
    op.drop_index(op.f("ix_gazetteer_entries_comuna"), table_name="gazetteer_entries")
    op.drop_table("gazetteer_entries")
