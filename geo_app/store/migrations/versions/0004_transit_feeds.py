"""Public transport: imported GTFS feeds and entered bus and colectivo lines.

Revision ID: 0004_transit_feeds
Revises: 0003
Create Date: 2026-11-30 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_transit_feeds"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "transit_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transit_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_transit_feeds_name")),
    )
    op.create_table(
        "transit_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("location_source", sa.String(length=300), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transit_stops")),
        sa.UniqueConstraint("stop_id", name=op.f("uq_transit_stops_stop_id")),
    )
    op.create_table(
        "transit_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=60), nullable=False),
        sa.Column("line_id", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transit_lines")),
        sa.UniqueConstraint("service_id", name=op.f("uq_transit_lines_service_id")),
    )
    op.create_index(op.f("ix_transit_lines_line_id"), "transit_lines", ["line_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_transit_lines_line_id"), table_name="transit_lines")
    op.drop_table("transit_lines")
    op.drop_table("transit_stops")
    op.drop_table("transit_feeds")
