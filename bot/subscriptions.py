"""Commands that change what a chat follows: /start /stop /topics /follow /watch /list /lang."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from wcwidth import wcswidth

from bot.request import Deps, Request
from bot.texts import rule_error, text
from crawler.fold import fold
from crawler.rules import Rule, RuleError
from crawler.watchlist import Entity, Watchlist
from storage import search as archive_search
from storage import subscribers

log = logging.getLogger(__name__)

TOPIC_BUTTON = "topic:"


def find_entity(watchlist: Watchlist, name: str) -> Entity | None:
    """An entity by key or any of its names, in any case, simplified or traditional."""
    wanted = fold(name).strip()
    if not wanted:
        return None
    for entity in watchlist.entities:
        if entity.key.startswith("blocker-"):
            continue
        names = (entity.key, entity.name_en, entity.name_zh, *entity.aliases, *entity.acronyms)
        if any(fold(n).strip() == wanted for n in names):
            return entity
    return None


def entity_label(entity: Entity, lang: str) -> str:
    return entity.name_zh if lang == "zh" else entity.name_en


def _topic_label(deps: Deps, key: str, lang: str) -> str:
    topic = next((t for t in deps.watchlist.topics if t.key == key), None)
    if topic is None:
        return key
    return topic.name_zh if lang == "zh" else topic.name_en


def _add(deps: Deps, request: Request, kind: str, value: str) -> bool:
    """Follow something in this chat, creating the chat's record if needed."""
    chat = request.chat
    with deps.db.session() as session:
        return subscribers.add(
            session,
            chat.id,
            kind,
            value,
            chat_type=chat.type,
            title=chat.title or chat.username,
            language=request.lang,
        )


async def start(deps: Deps, request: Request) -> None:
    """Subscribe this chat to the default topic."""
    topic = deps.settings.default_topic
    with deps.db.session() as session:
        added = subscribers.subscribe(
            session,
            request.chat.id,
            topic=topic,
            chat_type=request.chat.type,
            title=request.chat.title or request.chat.username,
            language=request.lang,
        )
    log.info("chat %d subscribed (new=%s)", request.chat.id, added)
    if added:
        await request.reply("welcome", topic=_topic_label(deps, topic, request.lang))
    else:
        await request.reply("already")


async def stop(deps: Deps, request: Request) -> None:
    """Unsubscribe and delete everything about this chat."""
    with deps.db.session() as session:
        was = subscribers.forget(session, request.chat.id)
    log.info("chat %d stopped and forgotten (was known=%s)", request.chat.id, was)
    await request.reply("stopped" if was else "not_subscribed")


def topics_keyboard(deps: Deps, followed: set[str], lang: str) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if topic.key in followed else "◻️ ") + _topic_label(deps, topic.key, lang),
                callback_data=TOPIC_BUTTON + topic.key,
            )
        ]
        for topic in deps.watchlist.topics
    ]
    return InlineKeyboardMarkup(rows)


def followed_topics(deps: Deps, chat_id: int) -> set[str]:
    with deps.db.session() as session:
        return {v for k, v in subscribers.following(session, chat_id) if k == "topic"}


async def topics(deps: Deps, request: Request) -> None:
    """An inline keyboard; each button toggles one topic."""
    if not deps.watchlist.topics:
        await request.reply("no_topics")
        return
    followed = followed_topics(deps, request.chat.id)
    await request.reply("topics", markup=topics_keyboard(deps, followed, request.lang))


def toggle_topic(deps: Deps, request: Request, key: str) -> bool | None:
    """Follow or unfollow a topic; True = now following, None = no such topic."""
    if key not in {t.key for t in deps.watchlist.topics}:
        return None
    with deps.db.session() as session:
        if subscribers.remove(session, request.chat.id, "topic", key):
            return False
    _add(deps, request, "topic", key)
    return True


async def follow(deps: Deps, request: Request) -> None:
    """/follow Alipay, /follow 支付宝, /follow alipay: all the same entity."""
    entity = await resolve_entity(deps, request, "follow_usage")
    if entity is None:
        return
    name = entity_label(entity, request.lang)
    added = _add(deps, request, "entity", entity.key)
    await request.reply("followed" if added else "already_following", name=name, key=entity.key)


async def unfollow(deps: Deps, request: Request) -> None:
    entity = await resolve_entity(deps, request, "unfollow_usage")
    if entity is None:
        return
    with deps.db.session() as session:
        removed = subscribers.remove(session, request.chat.id, "entity", entity.key)
    name = entity_label(entity, request.lang)
    await request.reply("unfollowed" if removed else "not_following", name=name)


def compile_query(deps: Deps, query: str) -> Rule:
    """A subscriber's query in the filter's syntax; RuleError says where it is wrong."""
    return deps.matcher().compile(
        query, bare_words_are_phrases=True, max_length=deps.settings.max_query_length
    )


@dataclass(frozen=True)
class DryRun:
    """What a new query would have matched lately; `cut`: only the newest were checked."""

    count: int
    checked: int
    cut: bool


def dry_run(deps: Deps, rule: Rule) -> DryRun:
    """How many stories of the last days the query would have matched, within a bound.

    The archive's search index narrows the stories to those that may match;
    at most `dry_run_scan` of the newest are checked (a broad query over a
    big archive took seconds), and the reply says when the count was cut.
    """
    now = datetime.now(UTC)
    scan = deps.settings.dry_run_scan
    with deps.db.session() as session:
        results = archive_search.search(
            session,
            deps.matcher(),
            rule,
            now=now,
            since=now - deps.settings.dry_run_window,
            limit=scan,
            scan=scan,
        )
    return DryRun(len(results.hits), results.scanned, results.capped)


async def reply_query_error(request: Request, query: str, exc: RuleError) -> None:
    """Say what is wrong with a query and point at it (shared by /watch and /search)."""
    position = min(exc.position, len(query))
    error = rule_error(exc.message, request.lang)
    said = text("watch_error", request.lang, position=position + 1, error=error)
    marker = " " * max(0, wcswidth(query[:position])) + "^"  # CJK: two columns in monospace
    # <pre>: monospaced, so the caret stands under the character it points at.
    await request.reply_html(f"{escape(said)}\n<pre>{escape(query)}\n{marker}</pre>")


async def read_query(deps: Deps, request: Request, usage: str) -> str | None:
    """The command's query with spaces normalised; None (and the reason said) if unusable."""
    query = " ".join(request.argument.split())
    if not query:
        await request.reply(usage)
        return None
    limit = deps.settings.max_query_length
    if len(query) > limit:
        await request.reply("watch_too_long", length=len(query), limit=limit)
        return None
    return query


async def resolve_entity(deps: Deps, request: Request, usage: str) -> Entity | None:
    """The entity the command names, by any alias; None (and the reason said) if none."""
    if not request.argument:
        await request.reply(usage)
        return None
    entity = find_entity(deps.watchlist, request.argument)
    if entity is None:
        await request.reply("unknown_entity", name=request.argument[:100])
    return entity


async def watch(deps: Deps, request: Request) -> None:
    """Validate a query, store it, and say how often it would have matched lately."""
    query = await read_query(deps, request, "watch_usage")
    if query is None:
        return
    try:
        rule = compile_query(deps, query)
    except RuleError as exc:
        await reply_query_error(request, query, exc)
        return
    with deps.db.session() as session:
        mine = [v for k, v in subscribers.following(session, request.chat.id) if k == "query"]
    if query in mine:
        await request.reply("already_watching")
        return
    if len(mine) >= deps.settings.max_watches:
        await request.reply("watch_limit", limit=deps.settings.max_watches)
        return
    _add(deps, request, "query", query)
    found = await asyncio.to_thread(dry_run, deps, rule)
    if found.cut:
        await request.reply(
            "watching_partial", query=query, count=found.count, checked=found.checked
        )
        return
    await request.reply("watching", query=query, count=found.count)


async def unwatch(deps: Deps, request: Request) -> None:
    """/unwatch N removes query N as numbered in /list."""
    with deps.db.session() as session:
        mine = [v for k, v in subscribers.following(session, request.chat.id) if k == "query"]
    try:
        number = int(request.argument)
    except ValueError:
        number = 0
    if not 1 <= number <= len(mine):
        await request.reply("unwatch_usage")
        return
    query = mine[number - 1]
    with deps.db.session() as session:
        subscribers.remove(session, request.chat.id, "query", query)
    await request.reply("unwatched", query=query)


async def show_list(deps: Deps, request: Request) -> None:
    """Everything this chat follows; queries numbered for /unwatch."""
    with deps.db.session() as session:
        items = subscribers.following(session, request.chat.id)
    if not items:
        await request.reply("list_empty")
        return
    lang = request.lang
    lines: list[str] = []
    topic_keys = [v for k, v in items if k == "topic"]
    entity_keys = [v for k, v in items if k == "entity"]
    queries = [v for k, v in items if k == "query"]
    if topic_keys:
        lines.append(text("list_topics", lang))
        lines += [f"• {_topic_label(deps, key, lang)}" for key in topic_keys]
    if entity_keys:
        lines.append(text("list_entities", lang))
        for key in entity_keys:
            entity = deps.watchlist.entity(key)
            lines.append(f"• {entity_label(entity, lang) if entity else key}")
    if queries:
        lines.append(text("list_queries", lang))
        lines += [f"{n}. {query}" for n, query in enumerate(queries, 1)]
    await request.reply_text("\n".join(lines))


async def set_lang(deps: Deps, request: Request) -> None:
    lang = request.argument.strip().lower()
    if lang not in ("en", "zh"):
        await request.reply("lang_usage")
        return
    with deps.db.session() as session:
        if not subscribers.set_language(session, request.chat.id, lang):
            subscribers.ensure(session, request.chat.id, chat_type=request.chat.type, language=lang)
    request.lang = lang
    await request.reply("lang_set")
