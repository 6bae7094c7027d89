"""/search: the archive of matched stories, in the filter's query syntax, paged with buttons.

One line per event: reports of one event (a cluster) show as its best-ranked
story with "+N sources". Paging is stateless: the query is the first line of
the results message, so a tap on ◀ or ▶ re-runs it for that page, also
after a restart. A search
costs at most a few thousand matcher checks (`storage.search`) and runs in
a thread so the bot keeps answering others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.formatting import display_text, linked, source_name
from bot.replies import paced
from bot.request import Deps, Request
from bot.subscriptions import compile_query, read_query, reply_query_error
from bot.texts import text
from crawler.rules import RuleError
from storage import archive
from storage import search as archive_search

SEARCH_BUTTON = "search:"
PAGE_SIZE = 5
MAX_RESULTS = 50
EVENT_REPORTS = 3  # hits read per result line: an event's other reports fold into it
HEADER = "🔎 "
_PAGE = re.compile(r"[0-9]{1,3}")  # ASCII digits only: "²".isdigit() is true, int("²") fails


@dataclasses.dataclass(frozen=True)
class Found:
    results: archive_search.SearchResults  # one hit per event, best first
    others: Mapping[int, int]  # story id -> other sources that reported its event


def _run(deps: Deps, query: str) -> Found:
    rule = compile_query(deps, query)
    with deps.db.session() as session:
        results = archive_search.search(
            session,
            deps.matcher(),
            rule,
            now=datetime.now(UTC),
            matched_only=True,
            limit=MAX_RESULTS * EVENT_REPORTS,
        )
        clusters = archive.clusters_of(session, [hit.story.story_id for hit in results.hits])
    best: dict[int, archive_search.SearchHit] = {}
    sources: dict[int, set[str]] = {}
    for hit in results.hits:
        event = clusters.get(hit.story.story_id) or hit.story.story_id
        best.setdefault(event, hit)
        sources.setdefault(event, set()).add(hit.story.source_key)
    kept = list(best.values())[:MAX_RESULTS]
    others = {
        hit.story.story_id: len(sources[event] - {hit.story.source_key})
        for event, hit in best.items()
    }
    return Found(dataclasses.replace(results, hits=kept), others)


def render(
    query: str, found: Found, page: int, lang: str, names: Mapping[str, str] | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of results as HTML, and the ◀ ▶ buttons it needs."""
    results = found.results
    hits = results.hits
    pages = max(1, -(-len(hits) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    first = (page - 1) * PAGE_SIZE
    shown = hits[first : first + PAGE_SIZE]
    total = f"{len(hits)}+" if results.capped or len(hits) == MAX_RESULTS else str(len(hits))
    lines = [
        HEADER + f"<b>{escape(query, quote=False)}</b>",
        text("search_count", lang, start=first + 1, end=first + len(shown), total=total),
    ]
    for number, hit in enumerate(shown, first + 1):
        story = hit.story
        others = found.others.get(story.story_id, 0)
        more = f" · {text('more_sources', lang, n=others)}" if others else ""
        lines.append(
            f"{number}. {linked(story.url, display_text(story.title[:200]))}"
            f" · {source_name(story.source_key, names or {})}{more} · {story.published_at:%Y-%m-%d}"
        )
    buttons = []
    if page > 1:
        buttons.append(InlineKeyboardButton("◀", callback_data=f"{SEARCH_BUTTON}{page - 1}"))
    if page < pages:
        buttons.append(InlineKeyboardButton("▶", callback_data=f"{SEARCH_BUTTON}{page + 1}"))
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None


async def search(deps: Deps, request: Request) -> None:
    """/search QUERY: stored matched stories, best first (recency and relevance)."""
    query = await read_query(deps, request, "search_usage")
    if query is None:
        return
    try:
        found = await asyncio.to_thread(_run, deps, query)
    except RuleError as exc:
        await reply_query_error(request, query, exc)
        return
    if not found.results.hits:
        await request.reply("search_empty", query=query)
        return
    html, markup = render(query, found, 1, request.lang, deps.labels.get(request.lang))
    await request.reply_html(html, markup)


async def turn_page(deps: Deps, update: Update, lang: str) -> None:
    """A tap on ◀ or ▶: the query is read back from the message, the page redrawn."""
    tap, chat = update.callback_query, update.effective_chat
    if tap is None or tap.data is None or chat is None:
        return
    message = tap.message
    first_line = (getattr(message, "text", None) or "").split("\n", 1)[0]
    page = tap.data.removeprefix(SEARCH_BUTTON)
    if not first_line.startswith(HEADER) or not _PAGE.fullmatch(page):
        await tap.answer()
        return
    query = first_line.removeprefix(HEADER)
    try:
        found = await asyncio.to_thread(_run, deps, query)
    except RuleError:
        await tap.answer()
        return
    html, markup = render(query, found, int(page), lang, deps.labels.get(lang))
    try:
        await paced(
            deps.pacer,
            chat,
            lambda: tap.edit_message_text(
                html,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
    except BadRequest as exc:  # "message is not modified": a double tap
        if "not modified" not in str(exc).lower():
            raise
    await tap.answer()
