"""Wiring: turn a validated Config into the objects every command uses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import httpx
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from bot.delivery import DeliverySettings, DeliveryWorker
from bot.formatting import SOURCE_LABEL
from bot.handlers import Handlers
from bot.pacing import Limits, Pacer
from bot.request import BotSettings, Deps
from bot.transport import AiohttpRequest, UpdatesRequest
from bot.updates import ConversationUpdates
from crackdown.config import POLLED_KINDS, Config, ConfigError, SourceConfig
from crackdown.runtime.channels import channel_specs
from crackdown.runtime.crawling import Progress, SpiderRunner, crawl_settings
from crackdown.runtime.filters import FilterBook
from crackdown.runtime.heap import limit_malloc_arenas, settle_long_lived
from crackdown.runtime.polling import Poller
from crackdown.storage_open import open_database
from crawler.http import HttpPolicy
from crawler.learned import LearnedVeto
from crawler.matcher import Matcher
from crawler.rules import RuleError
from crawler.schedule import PollPolicy
from crawler.watchlist import Watchlist, WatchlistError, build_watchlist, builtin_watchlist
from storage import sources as source_store
from storage.channels import ChannelSpec, sync_channels
from storage.clusters import ClusterSettings
from storage.db import Database

log = logging.getLogger(__name__)


def load_watchlist(config: Config) -> tuple[Watchlist, Matcher]:
    """The built-in watchlist extended by `[watchlist]`, compiled; errors name the entry."""
    try:
        watchlist = build_watchlist(config.watchlist, base=builtin_watchlist())
        matcher = Matcher(watchlist)
    except (WatchlistError, RuleError) as exc:
        raise ConfigError(f"watchlist: {exc}") from exc
    topics = {topic.key for topic in watchlist.topics}
    if config.telegram.default_topic not in topics:
        raise ConfigError(
            f"telegram.default_topic: no topic {config.telegram.default_topic!r} "
            f"(known: {', '.join(sorted(topics))})"
        )
    return watchlist, matcher


def load_veto(config: Config, matcher: Matcher) -> LearnedVeto | None:
    """The learned veto on the default topic's alerts, unless `[filter] learned_veto` is off
    or its weights do not fit this watchlist (then it logs why, once)."""
    if not config.filter.learned_veto:
        return None
    return LearnedVeto.for_matcher(matcher, config.telegram.default_topic)


@dataclass(frozen=True)
class CheckedConfig:
    """A reloaded config and what was built from it, checked, not yet in force."""

    config: Config
    watchlist: Watchlist
    matcher: Matcher
    channels: list[ChannelSpec]
    clustering: ClusterSettings
    veto: LearnedVeto | None


@dataclass
class App:
    """Everything a command needs, built once from the config."""

    config: Config
    db: Database
    watchlist: Watchlist
    matcher: Matcher
    filters: FilterBook = field(init=False)
    _deps: Deps | None = field(init=False, default=None)
    _pacer: Pacer | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.filters = FilterBook(
            self.watchlist,
            self.matcher,
            self.config.telegram.max_query_length,
            load_veto(self.config, self.matcher),
        )

    def reload(self, config: Config) -> list[str]:
        """Apply a new config's sources, watchlist, topics and channels, in place.

        Everything is checked before anything changes: a ConfigError leaves
        the running config as it was. A config without sources replacing one
        with some is refused: it is what an editor's truncated save reads as.
        Returns the changed settings that only a restart applies (database,
        Bot API endpoint, token, HTTP, delivery). The daemon runs the three
        steps apart, the database's in a thread (`crackdown.daemon`).
        """
        checked = self.check_reload(config)
        self.store_reload(checked)
        restart = self.apply_reload(checked)
        self.filters.refresh(self.db)  # subscribers' queries, compiled on the new watchlist
        return restart

    def check_reload(self, config: Config) -> CheckedConfig:
        """Step 1 of `reload`: build and check everything; a ConfigError changes nothing.

        Reads only `self.config`: the daemon runs it in a thread (a watchlist takes
        a third of a second of CPU to compile).
        """
        if self.config.sources and not config.sources:
            raise ConfigError(
                "the new config has no sources (an empty or half-saved file?); to stop"
                " polling, set enabled = false on each source"
            )
        watchlist, matcher = load_watchlist(config)
        channels = channel_specs(config.telegram.channels, watchlist, matcher)
        clustering = cluster_settings(config, watchlist)
        return CheckedConfig(
            config, watchlist, matcher, channels, clustering, load_veto(config, matcher)
        )

    def store_reload(self, checked: CheckedConfig) -> None:
        """Step 2 of `reload`: its sources and channels in the database (it may wait on a lock)."""
        config = checked.config
        with self.db.session() as session:
            source_store.sync_sources(session, [(s.key, s.kind, s.url) for s in config.sources])
            synced = sync_channels(session, checked.channels)
        if synced.added or synced.changed or synced.removed:
            log.info("%s", synced.summary())

    def apply_reload(self, checked: CheckedConfig) -> list[str]:
        """Step 3 of `reload`: the new config in force; returns what only a restart applies.

        Subscribers' queries are compiled again at the next `filters.refresh`.
        """
        config, watchlist, matcher = checked.config, checked.watchlist, checked.matcher
        old = self.config
        restart = [
            name
            for name, before, after in (
                ("storage.url", old.storage.url, config.storage.url),
                ("telegram.api_base_url", old.telegram.api_base_url, config.telegram.api_base_url),
                ("the bot token", old.bot_token(), config.bot_token()),
                ("[http]", old.http, config.http),
                ("[delivery]", old.delivery, config.delivery),
                ("[metrics]", old.metrics, config.metrics),
            )
            if before != after
        ]
        self.config, self.watchlist, self.matcher = config, watchlist, matcher
        self.db.configure(clustering=checked.clustering)
        self.filters.rebase(watchlist, matcher, config.telegram.max_query_length, checked.veto)
        if self._deps is not None:  # the running bot's handlers see the new names at once
            fresh = self.bot_deps()
            self._deps.watchlist, self._deps.settings = fresh.watchlist, fresh.settings
            self._deps.labels = fresh.labels
        return restart

    @property
    def policy(self) -> HttpPolicy:
        return self.http_policy(self.config)

    @staticmethod
    def http_policy(config: Config) -> HttpPolicy:
        http = config.http
        return HttpPolicy(
            user_agent=http.user_agent,
            connect_timeout=http.connect_timeout,
            read_timeout=http.read_timeout,
            deadline=http.deadline,
            max_bytes=http.max_bytes,
            max_redirects=http.max_redirects,
            allow_private_networks=http.allow_private_networks,
            proxy=http.proxy,
        )

    def feeds(self) -> list[SourceConfig]:
        """Enabled polled sources (feeds and JSON APIs, `POLLED_KINDS`), in config order."""
        return [s for s in self.config.sources if s.enabled and s.kind in POLLED_KINDS]

    def spiders(self) -> list[SourceConfig]:
        """Enabled spider sources (kind = "spider"), in config order."""
        return [s for s in self.config.sources if s.enabled and s.kind == "spider"]

    def without_paused(self, sources: list[SourceConfig], out: TextIO) -> list[SourceConfig]:
        """`--all`: every source but those an operator paused with /pause (said on `out`)."""
        with self.db.session() as session:
            paused = {r.key for r in source_store.list_sources(session) if r.paused}
        for source in sources:
            if source.key in paused:
                out.write(f"{source.key}: paused (/resume {source.key}, or --source to force)\n")
        return [s for s in sources if s.key not in paused]

    def poll_policy(self) -> PollPolicy:
        """When sources are polled or crawled next: `[polling]`, for feeds and spiders alike."""
        polling = self.config.polling
        return PollPolicy(
            min_interval=polling.min_interval,
            max_interval=polling.max_interval,
            backoff_max=polling.backoff_max,
            adaptive=polling.adaptive,
            jitter=polling.jitter,
        )

    def spider_runner(
        self,
        *,
        progress: Progress | None = None,
        cache_dir: Path | None = None,
        counter: Callable[[int, int], None] | None = None,
    ) -> SpiderRunner:
        """Crawls spider sources in child processes; `cache_dir` turns on Scrapy's HTTP cache."""
        self.filters.refresh(self.db)  # the queries subscribers watch right now
        return SpiderRunner(
            self.db,
            self.filters,
            crawl_settings(self.config, cache_dir),
            self.poll_policy(),
            self.config.crawl,
            notify_chats=self.operator_chats(),
            notify_after=self.config.polling.notify_after,
            progress=progress,
            counter=counter,
        )

    def poller(self, client: httpx.AsyncClient) -> Poller:
        polling = self.config.polling
        schedule = self.poll_policy()
        self.filters.refresh(self.db)  # the queries subscribers watch right now
        return Poller(
            self.db,
            self.filters,  # the watchlist's matcher plus subscribers' queries
            client,
            self.policy,
            schedule,
            concurrency=self.config.http.concurrency,
            per_host=polling.per_host,
            full_text_per_poll=polling.full_text_per_poll,
            notify_chats=self.operator_chats(),
            notify_after=polling.notify_after,
        )

    def operator_chats(self) -> list[int]:
        """Where operator notices go: the admins' private chats and the ops chat."""
        telegram = self.config.telegram
        extra = [telegram.ops_chat_id] if telegram.ops_chat_id is not None else []
        return list(dict.fromkeys([*telegram.admin_ids, *extra]))

    def labels(self) -> dict[str, dict[str, str]]:
        """Display names per subscriber language: entities (hashtags) and sources (`name`)."""
        sources = {SOURCE_LABEL + s.key: s.name for s in self.config.sources if s.name}
        return {
            "en": {e.key: e.name_en for e in self.watchlist.entities} | sources,
            "zh": {e.key: e.name_zh for e in self.watchlist.entities} | sources,
        }

    def require_token(self) -> str:
        return require_token(self.config)

    def application(self) -> Application:  # type: ignore[type-arg]
        """A PTB Application with our handlers, talking to `telegram.api_base_url`."""
        timeout = self.config.telegram.poll_timeout + 10
        application = (
            ApplicationBuilder()
            .token(self.require_token())
            .base_url(self.config.telegram.api_base_url)
            .get_updates_request(UpdatesRequest(read_timeout=timeout, connect_timeout=10))
            .request(  # the sending bot: aiohttp, a quarter of httpx's CPU a send
                AiohttpRequest(
                    connection_pool_size=self.config.delivery.concurrency + 2,
                    read_timeout=self.config.delivery.timeout,
                    write_timeout=self.config.delivery.timeout,
                    connect_timeout=10,
                    pool_timeout=self.config.delivery.timeout,
                )
            )
            .job_queue(None)  # APScheduler in crackdown.daemon schedules our jobs
            .concurrent_updates(ConversationUpdates())  # one slow chat does not stall others
            .build()
        )
        self._deps = self.bot_deps()
        Handlers(self._deps).register(application)
        return application

    @property
    def pacer(self) -> Pacer:
        """Telegram's budget, one per process: alerts and replies to commands share it."""
        if self._pacer is None:
            delivery = self.config.delivery
            self._pacer = Pacer(
                Limits(
                    global_per_second=delivery.global_rate,
                    private_per_second=delivery.private_rate,
                    group_per_minute=delivery.group_rate,
                    margin=delivery.rate_margin,
                )
            )
        return self._pacer

    def bot_deps(self) -> Deps:
        """What the command handlers use; `matcher` is looked up per use (it may be rebuilt)."""
        telegram = self.config.telegram
        settings = BotSettings(
            default_topic=telegram.default_topic,
            admin_ids=frozenset(telegram.admin_ids),
            max_watches=telegram.max_watches,
            max_query_length=telegram.max_query_length,
            commands_per_minute=telegram.commands_per_minute,
        )
        return Deps(
            self.db, self.watchlist, lambda: self.matcher, settings, self.labels(), self.pacer
        )

    def delivery_worker(self, bot: Bot) -> DeliveryWorker:
        delivery = self.config.delivery
        settings = DeliverySettings(
            batch_size=delivery.batch_size,
            concurrency=delivery.concurrency,
            max_attempts=delivery.max_attempts,
            lease=timedelta(seconds=delivery.lease),
            link_previews=self.config.telegram.link_previews,
            base_backoff=delivery.base_backoff,
            max_backoff=delivery.max_backoff,
            deactivate_after=delivery.deactivate_after,
            limits=self.pacer.limits,
        )
        return DeliveryWorker(self.db, bot, self.labels(), settings, pacer=self.pacer)


PLACE_CATEGORIES = ("china", "foreign")  # watchlist categories that say where, not what
# Rule-only keys of these categories, and actions of a kind (`act`), say what happened or
# who acted; the other rule-only keys are background to clustering (`_worth_clustering`).
EVENT_CATEGORIES = ("enforcer", "regulator", "activity")


def cluster_settings(config: Config, watchlist: Watchlist) -> ClusterSettings:
    """`[cluster]` resolved against the watchlist; an unknown `distinct` name is a ConfigError.

    A distinct category stands for its entities less the generic ones that
    others of the category imply ("exchange", which every named exchange
    implies, would make all exchange stories agree). Only reported entities make a key
    generic: an unreported one (民警, bare 最高法院) is another spelling of the key it implies.
    """
    cluster = config.cluster
    known = watchlist.names()
    for index, name in enumerate(cluster.distinct):
        if name not in known:
            raise ConfigError(
                f"cluster.distinct[{index}]: no watchlist category or entity {name!r}"
            )
    category = {entity.key: entity.category for entity in watchlist.entities}
    generic = {
        key
        for entity in watchlist.entities
        if entity.report  # an unreported entity is a spelling of what it implies (民警 -> mps)
        for key in entity.implies
        if category[key] == entity.category
    }
    categories = set(cluster.distinct) & watchlist.categories  # "exchange" is both: a category
    keys = set(cluster.distinct) - categories
    families = {
        entity.key: entity.family or entity.key
        for entity in watchlist.entities
        if entity.key in keys or (entity.category in categories and entity.key not in generic)
    }
    return ClusterSettings(
        window=timedelta(seconds=cluster.window),
        threshold=cluster.threshold,
        enabled=cluster.enabled,
        families=families,
        places=frozenset(e.key for e in watchlist.entities if e.category in PLACE_CATEGORIES),
        background=frozenset(
            e.key
            for e in watchlist.entities
            if not (e.report or e.act or e.category in (*EVENT_CATEGORIES, *PLACE_CATEGORIES))
        ),
    )


def require_token(config: Config) -> str:
    """The bot token, or a ConfigError saying where to put it."""
    token = config.bot_token()
    if not token:
        raise ConfigError(
            "telegram: no bot token; set CRACKDOWN_TELEGRAM_TOKEN or telegram.token_file"
        )
    return token


def open_app(config: Config, *, read_only: bool = False) -> App:
    """Validate the watchlist, migrate the database, and register configured sources.

    `read_only` (`crackdown status`): a database crackdown may not write is read as it
    is, and nothing is registered (`crackdown.storage_open.open_database`).
    """
    limit_malloc_arenas()  # before the watchlist is built and the poller's threads start
    watchlist, matcher = load_watchlist(config)
    channels = channel_specs(config.telegram.channels, watchlist, matcher)
    clustering = cluster_settings(config, watchlist)
    db = open_database(config.storage.url, settings={"clustering": clustering}, read_only=read_only)
    if db.read_only:  # write nothing
        return App(config=config, db=db, watchlist=watchlist, matcher=matcher)
    with db.session() as session:
        source_store.sync_sources(session, [(s.key, s.kind, s.url) for s in config.sources])
        synced = sync_channels(session, channels)
    if synced.added or synced.changed or synced.removed:
        log.info("%s", synced.summary())
    settle_long_lived()  # the watchlist and imports live until exit: out of the GC's walks
    return App(config=config, db=db, watchlist=watchlist, matcher=matcher)
