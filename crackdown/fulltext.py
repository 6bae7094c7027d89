"""Full text for feeds that carry only a summary, so the filter sees the article.

Only stories not stored yet are fetched (a feed repeats its items every
poll), at most `limit` per poll, one after another inside the feed's own
host slot so the per-host limit holds. Extraction (trafilatura) runs in a
worker thread: it is CPU work and would stall the event loop. A page that
fails is logged and its story keeps its summary; nothing else is lost.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx

from crawler.extract import fetch_article
from crawler.http import FetchError, HttpPolicy
from crawler.types import RawStory
from crawler.urls import canonical_url
from storage import stories as story_store
from storage.db import Database

log = logging.getLogger(__name__)


async def fill_bodies(
    db: Database,
    client: httpx.AsyncClient,
    policy: HttpPolicy,
    stories: Sequence[RawStory],
    limit: int,
    *,
    fetch_body: Callable[[RawStory], Awaitable[str]] | None = None,
) -> list[RawStory]:
    """The stories, with a body fetched for new ones that have none (up to `limit`).

    By default the body is the article extracted from the story's page;
    `fetch_body` replaces that (a JSON source's detail request).
    """
    wanted = [s for s in stories if not s.body and s.url.startswith(("http://", "https://"))]
    if not wanted:
        return list(stories)
    keys = {s.url: canonical_url(s.url) for s in wanted}
    with db.session() as session:
        known = story_store.known_urls(session, list(dict.fromkeys(keys.values())))
    todo = [s for s in wanted if keys[s.url] not in known][:limit]
    bodies: dict[str, str] = {}
    for story in todo:
        try:
            if fetch_body is not None:
                bodies[story.url] = await fetch_body(story)
            else:
                bodies[story.url] = (await fetch_article(client, story.url, policy)).text
        except FetchError as exc:
            log.info("source %s: no full text for %s: %s", story.source_key, story.url, exc)
    return [dataclasses.replace(s, body=bodies[s.url]) if bodies.get(s.url) else s for s in stories]
