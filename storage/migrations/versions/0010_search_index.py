"""archive search index: FTS5 on SQLite, a GIN-indexed text[] on PostgreSQL

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 10:30:00
"""

from __future__ import annotations

from alembic import op

from storage.search import reindex_all

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # unicode61 over our own terms (words and CJK bigrams, see crawler/search_text.py).
        op.execute(
            "CREATE VIRTUAL TABLE story_fts"
            " USING fts5(doc, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER story_fts_forget AFTER DELETE ON stories "
            "BEGIN DELETE FROM story_fts WHERE rowid = old.id; END"
        )
    else:
        op.execute(
            "CREATE TABLE story_terms ("
            " story_id INTEGER PRIMARY KEY REFERENCES stories (id) ON DELETE CASCADE,"
            " terms TEXT[] NOT NULL)"
        )
        op.execute("CREATE INDEX ix_story_terms_terms ON story_terms USING gin (terms)")
    reindex_all(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS story_fts_forget")
        op.execute("DROP TABLE IF EXISTS story_fts")
    else:
        op.execute("DROP TABLE IF EXISTS story_terms")
