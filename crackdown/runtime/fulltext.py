"""Full text for feeds that carry only a summary, so the filter sees the article.

Only stories not stored yet are fetched (a feed repeats its items every
poll), at most `limit` per poll, one after another inside the feed's own
host slot so the per-host limit holds. All of them together get one fetch
deadline (`http.deadline`), so pages that trickle cannot hold the poll
for `limit` deadlines. Extraction (trafilatura) runs in a worker thread:
it is CPU work and would stall the event loop. A page that fails or gets
no time is logged and its story keeps its summary; nothing else is lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
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
    """The stories, with a body fetched for new ones that have none (up to `limit`, and
    within one `policy.deadline` for all).

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
    ends = time.monotonic() + policy.deadline
    for done, story in enumerate(todo):
        left = ends - time.monotonic()
        if left <= 0:
            log.warning(
                "source %s: full text deadline (%gs) spent; %d stories keep their summary",
                story.source_key,
                policy.deadline,
                len(todo) - done,
            )
            break
        try:
            if fetch_body is not None:
                async with asyncio.timeout(left):
                    bodies[story.url] = await fetch_body(story)
            else:
                page_policy = dataclasses.replace(policy, deadline=min(policy.deadline, left))
                bodies[story.url] = (await fetch_article(client, story.url, page_policy)).text
        except FetchError as exc:
            log.info("source %s: no full text for %s: %s", story.source_key, story.url, exc)
        except TimeoutError:
            log.info("source %s: no full text for %s: deadline spent", story.source_key, story.url)
    return [dataclasses.replace(s, body=bodies[s.url]) if bodies.get(s.url) else s for s in stories]
