"""`crackdown search QUERY`: the archive from the command line, for analysts and scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.formatting import happened_line
from crackdown.app import App
from crackdown.config import parse_duration
from crawler.rules import RuleError
from storage import archive, search


def parse_since(value: str, now: datetime) -> datetime:
    """A date (2026-01-31), a date and time in UTC, or an age (7d, 12h)."""
    try:
        return now - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither a date (2026-01-31) nor an age (7d)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def search_command(
    app: App,
    query: str,
    *,
    since: str | None,
    limit: int,
    matched_only: bool,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Print the best stories for a query; 0 if any, 1 if none, 2 if the query is wrong."""
    now = datetime.now(UTC)
    try:
        after = parse_since(since, now) if since else None
    except ValueError as exc:
        print(f"crackdown: --since: {exc}", file=err)
        return 2
    try:
        rule = app.matcher.compile(" ".join(query.split()), bare_words_are_phrases=True)
    except RuleError as exc:
        print(f"crackdown: query error at character {exc.position + 1}: {exc.message}", file=err)
        print(f"  {query}\n  {' ' * exc.position}^", file=err)
        return 2
    with app.db.session() as session:
        results = search.search(
            session,
            app.matcher,
            rule,
            now=now,
            since=after,
            matched_only=matched_only,
            limit=limit,
        )
        clusters = archive.clusters_of(session, [hit.story.story_id for hit in results.hits])
    if as_json:
        rows = [_as_json(hit, clusters.get(hit.story.story_id)) for hit in results.hits]
        print(json.dumps(rows, ensure_ascii=False), file=out)
    else:
        names = {e.key: e.name_en for e in app.matcher.watchlist.entities}
        for hit in results.hits:
            story = hit.story
            mark = "*" if hit.topical else " "  # as `crackdown match`: a topic matched
            # what happened and who acted, as the alert said it; two lines a story still
            happened = happened_line(story.actions, story.actors, "en", names)
            print(
                f"{hit.rank:6.3f} {mark} {story.published_at:%Y-%m-%d} "
                f"{story.source_key:<16} {story.title[:100]}{'  ' if happened else ''}{happened}"
                f"\n{'':28}{story.url}",
                file=out,
            )
        print(f"{len(results.hits)} stories (* = a topic matched: alerted)", file=err)
    if results.capped:
        print(
            f"checked the newest {results.scanned} candidates only: "
            "narrow the query or use --since to reach older stories",
            file=err,
        )
    return 0 if results.hits else 1


def _as_json(hit: search.SearchHit, cluster_id: int | None) -> dict[str, object]:
    story = hit.story
    return {
        "story_id": story.story_id,
        "cluster_id": cluster_id,  # the event: stories with one cluster id report it
        "title": story.title,
        "url": story.url,
        "source": story.source_key,
        "lang": story.lang,
        "published_at": story.published_at.isoformat(),
        "entities": list(story.entities),
        "actions": list(story.actions),  # what happened (watchlist `act` kinds)
        "actors": list(story.actors),  # who acted (watchlist keys)
        "matched": hit.matched,  # a topic or a watched entity (as --matched and /search)
        "topic_matched": hit.topical,
        "rank": hit.rank,
    }
