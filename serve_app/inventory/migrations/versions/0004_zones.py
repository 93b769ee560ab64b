"""Zones and bins: polygons of a camera's image, each a bin location with par levels of its own.

A bin is a location of kind `bin` whose `parent_id` is its camera's location; `zones` holds
its polygon, `par_levels` an item's par level at one location over the item's default. The
downgrade drops zones, par levels and every bin with its records and stock.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('shelf', 'cabinet', 'room')"
KINDS = "kind IN ('shelf', 'cabinet', 'room', 'bin')"
PARENT_FK = "fk_locations_parent_id_locations"


def upgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.drop_constraint("ck_locations_kind", type_="check")
        batch.create_check_constraint("ck_locations_kind", KINDS)
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(PARENT_FK, "locations", ["parent_id"], ["id"])
    op.create_table(
        "zones",
        sa.Column("bin_id", sa.Integer(), sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column(
            "camera_location_id", sa.Integer(), sa.ForeignKey("locations.id"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("polygon", sa.String(4000), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_zones_camera", "zones", ["camera_location_id", "position"])
    op.create_table(
        "par_levels",
        sa.Column("location_id", sa.Integer(), sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("par_level", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("par_levels")
    op.drop_index("ix_zones_camera", table_name="zones")
    op.drop_table("zones")
    bins = "SELECT id FROM locations WHERE kind = 'bin'"
    op.execute(
        "DELETE FROM detection_counts WHERE record_id IN "
        f"(SELECT id FROM detection_records WHERE location_id IN ({bins}))"
    )
    for table in ("detection_records", "stock", "daily_counts"):
        op.execute(f"DELETE FROM {table} WHERE location_id IN ({bins})")
    op.execute("DELETE FROM locations WHERE kind = 'bin'")
    with op.batch_alter_table("locations") as batch:
        batch.drop_constraint(PARENT_FK, type_="foreignkey")
        batch.drop_column("parent_id")
        batch.drop_constraint("ck_locations_kind", type_="check")
        batch.create_check_constraint("ck_locations_kind", KINDS_BEFORE)
