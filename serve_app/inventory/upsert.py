"""`INSERT … ON CONFLICT` for whichever backend the session is bound to."""

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.models import Base


def insert_for(session: AsyncSession, model: type[Base]) -> Any:
    """The dialect's own `insert()` into the model's table, with `on_conflict_do_*`.

    Core, not ORM bulk insert (which renders upserts of parameter lists wrongly). Typed as
    Any: the PostgreSQL and SQLite constructs have the same methods but no common type.
    """
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
