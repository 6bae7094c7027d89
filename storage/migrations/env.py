"""Alembic environment: the engine comes from `storage.migrate`, not a URL in a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import func, select

from storage.db import MIGRATION_LOCK
from storage.models import Base, UTCDateTime


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our UTC column type as a plain DateTime so migrations never import models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Several daemons may start at once on one database: the first migrates, the others
        # wait here until it commits, then find the schema at head and do nothing.
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )
    context.run_migrations()
