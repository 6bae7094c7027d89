"""`[[telegram.channels]]`: checked against the watchlist, then written to storage."""

from __future__ import annotations

from collections.abc import Sequence

from bot.preferences import parse_clock
from bot.subscriptions import find_entity
from crackdown.config import ChannelConfig, ConfigError
from crawler.matcher import Matcher
from crawler.rules import RuleError
from crawler.watchlist import Watchlist
from storage.channels import ChannelSpec


def _follows(
    channel: ChannelConfig, where: str, watchlist: Watchlist, matcher: Matcher
) -> tuple[tuple[str, str], ...]:
    topics = {topic.key for topic in watchlist.topics}
    follows: list[tuple[str, str]] = []
    for topic in channel.topics:
        if topic not in topics:
            raise ConfigError(
                f"{where}.topics: no topic {topic!r} (known: {', '.join(sorted(topics))})"
            )
        follows.append(("topic", topic))
    for name in channel.entities:
        entity = find_entity(watchlist, name)
        if entity is None:
            raise ConfigError(f"{where}.entities: no entity or alias {name!r} in the watchlist")
        follows.append(("entity", entity.key))
    for query in channel.queries:
        normalised = " ".join(query.split())
        try:
            matcher.compile(normalised, bare_words_are_phrases=True)
        except RuleError as exc:
            raise ConfigError(f"{where}.queries: {query!r}: {exc}") from exc
        follows.append(("query", normalised))
    return tuple(dict.fromkeys(follows))


def channel_specs(
    channels: Sequence[ChannelConfig], watchlist: Watchlist, matcher: Matcher
) -> list[ChannelSpec]:
    """Storage specs for the configured channels; a ConfigError names the first bad entry."""
    specs: list[ChannelSpec] = []
    seen: set[int] = set()
    for index, channel in enumerate(channels):
        where = f"telegram.channels[{index}]"
        if channel.chat_id in seen:
            raise ConfigError(f"{where}.chat_id: {channel.chat_id} is listed twice")
        seen.add(channel.chat_id)
        mode, _, at = channel.digest.partition(" ")
        specs.append(
            ChannelSpec(
                chat_id=channel.chat_id,
                title=channel.name,
                language=channel.lang,
                timezone=channel.timezone,
                digest=mode,
                digest_at=parse_clock(at) if mode == "daily" else None,
                follows=_follows(channel, where, watchlist, matcher),
            )
        )
    return specs
