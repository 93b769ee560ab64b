"""Inventory: locations, items, detection records and counts, stock, daily aggregates.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("camera_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('shelf', 'cabinet', 'room')", name="ck_locations_kind"),
    )
    op.create_table(
        "items",
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("sku", sa.String(100), nullable=True),
        sa.Column("unit", sa.String(50), nullable=False),
        sa.Column("par_level", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "detection_records",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("request_id", sa.String(255), nullable=False, unique=True),
        sa.Column("location_id", sa.Integer(), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("model_name", sa.String(100), nullable=False),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_detection_records_location_time", "detection_records", ["location_id", "recorded_at"]
    )
    op.create_table(
        "detection_counts",
        sa.Column(
            "record_id",
            BIG_ID,
            sa.ForeignKey("detection_records.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "stock",
        sa.Column("location_id", sa.Integer(), sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("below_par_since", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "daily_counts",
        sa.Column("location_id", sa.Integer(), sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("max_count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "daily_counts",
        "stock",
        "detection_counts",
        "detection_records",
        "items",
        "locations",
    ):
        op.drop_table(table)
