"""Cameras: what the snapshot poller polls, per location (a URL without credentials).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "location_id",
            sa.Integer(),
            sa.ForeignKey("locations.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("credential", sa.String(100), nullable=True),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("frames_per_poll", sa.Integer(), nullable=False),
        sa.Column("frame_gap_s", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('snapshot', 'mjpeg', 'video')", name="ck_cameras_kind"),
    )


def downgrade() -> None:
    op.drop_table("cameras")
