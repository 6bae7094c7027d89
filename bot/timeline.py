"""/timeline ENTITY: the latest events about an entity, one line per event, newest first.

An event is a cluster of reports (storage.clusters): it is shown by its
first report, with how many other sources carried it, so a story four
outlets covered is one line, not four.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from bot.formatting import display_text, linked, source_name
from bot.request import Deps, Request
from bot.subscriptions import entity_label, resolve_entity
from bot.texts import text
from storage import archive
from storage import search as archive_search
from storage.records import StoredStory

MAX_EVENTS = 10
SCAN = 200


@dataclass
class Event:
    first: StoredStory
    sources: set[str] = field(default_factory=set)


def events_about(deps: Deps, key: str) -> list[Event]:
    """The newest events naming entity `key`, each led by its first report."""
    matcher = deps.matcher()
    rule = matcher.compile(key)
    with deps.db.session() as session:
        results = archive_search.search(
            session, matcher, rule, now=datetime.now(UTC), matched_only=True, limit=SCAN
        )
        stories = [hit.story for hit in results.hits]
        clusters = archive.clusters_of(session, [s.story_id for s in stories])
    events: dict[int, Event] = {}
    for story in sorted(stories, key=lambda s: (s.published_at, s.story_id)):
        cluster = clusters.get(story.story_id) or story.story_id
        event = events.setdefault(cluster, Event(story))
        event.sources.add(story.source_key)
    newest = sorted(events.values(), key=lambda e: e.first.published_at, reverse=True)
    return newest[:MAX_EVENTS]


async def timeline(deps: Deps, request: Request) -> None:
    """/timeline Binance, /timeline 币安."""
    entity = await resolve_entity(deps, request, "timeline_usage")
    if entity is None:
        return
    events = await asyncio.to_thread(events_about, deps, entity.key)
    name = entity_label(entity, request.lang)
    if not events:
        await request.reply("timeline_empty", name=name)
        return
    lines = [f"<b>{escape(name, quote=False)}</b>"]
    for event in events:
        story = event.first
        others = len(event.sources) - 1
        extra = f" · {text('more_sources', request.lang, n=others)}" if others else ""
        lines.append(
            f"{story.published_at:%Y-%m-%d} {linked(story.url, display_text(story.title[:200]))}"
            f" · {source_name(story.source_key, deps.labels.get(request.lang, {}))}{extra}"
        )
    await request.reply_html("\n".join(lines))
