"""Planner statistics, as a database that has run a while has them.

Housekeeping runs `PRAGMA optimize`, which ANALYZEs tables once they have
been queried and have grown; PostgreSQL's autovacuum analyzes on its own.
Queries must give the same answers with statistics as without: SQLite 3.40.1
(Debian 12's) once silenced chats after a crash because of them.
"""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database
from storage.housekeeping import optimize


def gather_planner_statistics(db: Database) -> None:
    """ANALYZE every table, then run housekeeping's own optimisation."""
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
        if db.engine.dialect.name == "sqlite":
            analysed = connection.execute(
                text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'deliveries'")
            ).scalar_one()
            assert analysed, "ANALYZE left no statistics for the outbox"
    optimize(db)
