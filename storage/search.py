"""Archive search: an index narrows the candidates, the filter's matcher decides.

A query is the filter's own syntax (`binance AND (OTC OR "P2P desk") AND NOT
price`), so search, /watch and topic rules agree on what matches. The rule's
`Needs` (what must be present, ignoring NOT and distances) becomes an index
query over the terms of `crawler.search_text`: SQLite FTS5 (`story_fts`, a
virtual table keyed by story id) or, on PostgreSQL, a GIN-indexed text[]
(`story_terms`). The newest candidates are then checked by the matcher,
which applies every part of the query exactly, and ranked.

Ranking: relevance (the query holds on the title alone: +1; the filter
matched the story: +0.5) halved every `HALF_LIFE_DAYS` of age, so a fresh
story that merely mentions a term beats a year-old headline about it, and a
headline beats a mention of the same age.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    false,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from crawler.matcher import Matcher
from crawler.rules import Needs, Rule
from crawler.search_text import document, phrase, term_set
from crawler.types import Story
from storage.archive import stored_story
from storage.models import MatchRow, Source, StoryRow, has_topics, is_flagged
from storage.records import StoredStory

HALF_LIFE_DAYS = 30.0
MAX_FORMS = 200  # a name with more surface forms than this is left to the matcher
SEARCH_TABLES = ("story_fts", "story_terms")

_terms_table = Table(
    "story_terms",
    MetaData(),
    Column("story_id", Integer, primary_key=True),
    Column("terms", postgresql.ARRAY(Text)),
)


def is_search_table(name: str | None) -> bool:
    """Tables the migrations make per dialect, outside the models (FTS5 adds shadow tables)."""
    return bool(name) and any(str(name).startswith(table) for table in SEARCH_TABLES)


@dataclass(frozen=True)
class SearchHit:
    story: StoredStory
    rank: float
    matched: bool  # a topic or a reported entity when it was stored
    topical: bool = False  # a topic matched: what alerts (an entity alone does not)


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    scanned: int  # candidates the matcher checked
    capped: bool  # more candidates existed than were checked: narrow the query or --since


# --- indexing -------------------------------------------------------------------


def index_stories(
    connection: Connection | Session,
    stories: Iterable[tuple[int, str, str, str]],
    docs: Sequence[str | None] = (),
) -> None:
    """Index (story id, title, summary, body) rows, in the caller's transaction.

    The index values are `crawler.search_text`'s, pure and computed once a
    story (`document` for SQLite, `term_set` for PostgreSQL): a caller that
    has them already (a parse worker) can hand them to `write_index`. `docs`
    may hold rows' `document(title, summary, body)` made already, None where
    not; only SQLite's index uses them.
    """
    connection = connection.connection() if isinstance(connection, Session) else connection
    if connection.dialect.name != "sqlite":
        write_index(connection, [(i, term_set(t, s, b)) for i, t, s, b in stories])
        return
    rows = list(stories)
    made = list(docs) + [None] * (len(rows) - len(docs))
    write_index(
        connection,
        [
            (i, document(t, s, b) if doc is None else doc)
            for (i, t, s, b), doc in zip(rows, made, strict=True)
        ],
    )


def write_index(connection: Connection, entries: Sequence[tuple[int, str | list[str]]]) -> None:
    """Store (story id, index value) rows with one executemany through the driver."""
    if not entries:
        return
    if connection.dialect.name == "sqlite":
        statement = "INSERT INTO story_fts (rowid, doc) VALUES (?, ?)"
    else:
        statement = (
            "INSERT INTO story_terms (story_id, terms) VALUES (%s, %s::text[])"
            " ON CONFLICT DO NOTHING"
        )
    connection.exec_driver_sql(statement, list(entries))


def reindex_all(connection: Connection, batch: int = 1000) -> int:
    """Index every stored story (the migration that adds search runs this once)."""
    done, last = 0, 0
    while True:
        rows = connection.execute(
            select(StoryRow.id, StoryRow.title, StoryRow.summary, StoryRow.body)
            .where(StoryRow.id > last)
            .order_by(StoryRow.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        index_stories(connection, [tuple(row) for row in rows])
        done, last = done + len(rows), rows[-1][0]


def _dialect(connection: Connection | Session) -> str:
    return (
        connection.get_bind().dialect.name
        if isinstance(connection, Session)
        else (connection.dialect.name)
    )


# --- queries ---------------------------------------------------------------------


def _leaf(name: str, matcher: Matcher) -> list[tuple[str, ...]] | None:
    forms = matcher.surface_forms(name)
    if not forms or len(forms) > MAX_FORMS:
        return None
    phrases = [phrase(form) for form in sorted(forms)]
    if any(p is None for p in phrases):
        return None
    return list(dict.fromkeys(p for p in phrases if p is not None))


def fts5_query(needs: Needs | None, matcher: Matcher) -> str | None:
    """An FTS5 MATCH expression for `needs`; None when the index cannot narrow it."""
    if needs is None:
        return None
    if needs.op == "name":
        phrases = _leaf(needs.name, matcher)
        if phrases is None:
            return None
        quoted = ['"' + " ".join(p) + '"' for p in phrases]
        return quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")"
    parts = [fts5_query(part, matcher) for part in needs.parts]
    if needs.op == "any":
        if any(p is None for p in parts):
            return None
        return "(" + " OR ".join(p for p in parts if p) + ")"
    kept = [p for p in parts if p is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else "(" + " AND ".join(kept) + ")"


def _pg_condition(needs: Needs | None, matcher: Matcher) -> ColumnElement[bool] | None:
    if needs is None:
        return None
    if needs.op == "name":
        phrases = _leaf(needs.name, matcher)
        if phrases is None:
            return None
        if not phrases:
            return false()
        return or_(*(_terms_table.c.terms.contains(list(p)) for p in phrases))
    parts = [_pg_condition(part, matcher) for part in needs.parts]
    if needs.op == "any":
        if any(p is None for p in parts):
            return None
        return or_(*(p for p in parts if p is not None))
    kept = [p for p in parts if p is not None]
    return and_(*kept) if kept else None


def _candidate_ids(
    session: Session,
    rule: Rule,
    matcher: Matcher,
    *,
    since: datetime | None,
    matched_only: bool,
    limit: int,
) -> list[int]:
    """Ids of the newest stories that may match, newest first, at most `limit`."""
    query = select(StoryRow.id).order_by(StoryRow.id.desc()).limit(limit)
    if since is not None:
        query = query.where(StoryRow.published_at >= since)
    if matched_only:
        query = query.where(
            select(MatchRow.id).where(MatchRow.story_id == StoryRow.id, is_flagged()).exists()
        )
    if _dialect(session) == "sqlite":
        expression = fts5_query(rule.needs, matcher)
        if expression is not None:
            fts = text("SELECT rowid FROM story_fts WHERE story_fts MATCH :q").bindparams(
                q=expression
            )
            query = query.where(StoryRow.id.in_(fts.columns(rowid=Integer)))
    else:
        condition = _pg_condition(rule.needs, matcher)
        if condition is not None:
            query = query.where(StoryRow.id.in_(select(_terms_table.c.story_id).where(condition)))
    return list(session.scalars(query))


def _load(session: Session, ids: Sequence[int]) -> list[tuple[StoredStory, bool, bool]]:
    query = (
        select(
            StoryRow,
            Source.key,
            MatchRow.entities,
            MatchRow.actions,
            MatchRow.actors,
            is_flagged(),
            has_topics(),
        )
        .join(Source, Source.id == StoryRow.source_id)
        .outerjoin(MatchRow, MatchRow.story_id == StoryRow.id)
        .where(StoryRow.id.in_(ids))
    )
    loaded = {}
    for story, key, entities, actions, actors, flagged, topical in session.execute(query):
        stored = stored_story(story, key, entities, actions, actors)
        loaded[story.id] = (stored, bool(flagged), bool(topical))
    return [loaded[i] for i in ids if i in loaded]


def _as_story(stored: StoredStory) -> Story:
    return Story(
        source_key=stored.source_key,
        url=stored.url,
        canonical_url=stored.url,
        title=stored.title,
        summary=stored.summary,
        body=stored.body,
        lang=stored.lang,
        published_at=stored.published_at,
        fingerprint="",
    )


def search(
    session: Session,
    matcher: Matcher,
    rule: Rule,
    *,
    now: datetime,
    since: datetime | None = None,
    matched_only: bool = False,
    limit: int = 50,
    scan: int = 2000,
) -> SearchResults:
    """The best `limit` stored stories for a query, checked by the matcher, ranked.

    At most `scan` of the newest candidates are checked, which bounds the
    work of a query the index cannot narrow (`NOT price`, a one-character
    term): `capped` then says older stories were not looked at.
    """
    if not rule.phrases <= matcher.phrases:
        matcher = Matcher(matcher.watchlist, phrases=rule.phrases)
    ids = _candidate_ids(
        session, rule, matcher, since=since, matched_only=matched_only, limit=scan + 1
    )
    capped = len(ids) > scan
    hits: list[SearchHit] = []
    for stored, matched, topical in _load(session, ids[:scan]):
        story = _as_story(stored)
        if not matcher.matches(rule, story):
            continue
        title_only = dataclasses.replace(story, summary="", body="")
        relevance = 1.0 + matcher.matches(rule, title_only) + 0.5 * matched
        age_days = max(0.0, (now - stored.published_at).total_seconds() / 86400)
        rank = relevance * 0.5 ** (age_days / HALF_LIFE_DAYS)
        hits.append(SearchHit(stored, round(rank, 6), matched, topical))
    hits.sort(key=lambda hit: (-hit.rank, -hit.story.story_id))
    return SearchResults(hits[:limit], scanned=min(len(ids), scan), capped=capped)
