"""Idempotency keys: a detection record is identified by its caller and its idempotency key.

Until now the request id (X-Request-ID) was the record's key, unique across every caller. From
here `request_id` is the trace id only (not unique), and `(caller, idempotency_key)` is unique.
Records made before keep their request id as their key, under the caller `unscoped`, which no
request is ever made as: no new request is matched against them. The downgrade makes the
request id unique again: `<caller>/<key>` for records made since.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_CALLER = "unscoped"
CALLER_KEY_UNIQUE = "uq_detection_records_caller_key"
# SQLite keeps 0001's `unique=True` unnamed: batch mode names it by this convention to drop it.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _request_id_unique() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "detection_records_request_id_key"  # PostgreSQL's name for 0001's constraint
    return "uq_detection_records_request_id"


def upgrade() -> None:
    with op.batch_alter_table("detection_records", naming_convention=_SQLITE_NAMES) as batch:
        batch.add_column(
            sa.Column("caller", sa.String(64), nullable=False, server_default=LEGACY_CALLER)
        )
        batch.add_column(sa.Column("idempotency_key", sa.String(255), nullable=True))
    op.execute("UPDATE detection_records SET idempotency_key = request_id")
    with op.batch_alter_table("detection_records", naming_convention=_SQLITE_NAMES) as batch:
        batch.alter_column("caller", server_default=None)
        batch.alter_column("idempotency_key", existing_type=sa.String(255), nullable=False)
        batch.drop_constraint(_request_id_unique(), type_="unique")
        batch.create_unique_constraint(CALLER_KEY_UNIQUE, ["caller", "idempotency_key"])


def downgrade() -> None:
    op.execute(
        "UPDATE detection_records SET request_id = caller || '/' || idempotency_key "
        f"WHERE caller <> '{LEGACY_CALLER}'"
    )
    with op.batch_alter_table("detection_records") as batch:
        batch.drop_constraint(CALLER_KEY_UNIQUE, type_="unique")
        batch.drop_column("idempotency_key")
        batch.drop_column("caller")
        batch.create_unique_constraint(_request_id_unique(), ["request_id"])
