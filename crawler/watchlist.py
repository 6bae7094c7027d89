"""The watchlist: entities with all their names, and topics built from them.

The built-in list ships as `crawler/data/watchlist.toml`; config may add
entities and topics or replace built-in ones by key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar


@dataclass(frozen=True)
class Entity:
    """Something subscribers follow, known by several names."""

    key: str
    category: str
    name_en: str
    name_zh: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    """A named boolean rule over categories and entity keys."""

    key: str
    name_en: str
    name_zh: str
    rule: str


@dataclass(frozen=True)
class Watchlist:
    entities: tuple[Entity, ...]
    topics: tuple[Topic, ...]

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(e.category for e in self.entities)

    def entity(self, key: str) -> Entity | None:
        return next((e for e in self.entities if e.key == key), None)


class WatchlistError(ValueError):
    """A watchlist document that cannot be used; the message names the entry."""


def _entity(raw: Mapping[str, Any], where: str) -> Entity:
    try:
        aliases = tuple(str(a) for a in raw.get("aliases", ()))
        names = (str(raw["name_en"]), str(raw["name_zh"]))
        entity = Entity(str(raw["key"]), str(raw["category"]), *names, aliases)
    except KeyError as exc:
        raise WatchlistError(f"{where}: missing {exc.args[0]}") from exc
    if not entity.aliases:
        raise WatchlistError(f"{where}: no aliases")
    return entity


def _topic(raw: Mapping[str, Any], where: str) -> Topic:
    try:
        return Topic(
            str(raw["key"]),
            str(raw.get("name_en", raw["key"])),
            str(raw.get("name_zh", raw.get("name_en", raw["key"]))),
            str(raw["rule"]),
        )
    except KeyError as exc:
        raise WatchlistError(f"{where}: missing {exc.args[0]}") from exc


_Keyed = TypeVar("_Keyed", Entity, Topic)


def _merge(base: Iterable[_Keyed], extra: Iterable[_Keyed]) -> tuple[_Keyed, ...]:
    merged = {item.key: item for item in base}
    merged.update((item.key, item) for item in extra)
    return tuple(merged.values())


def build_watchlist(
    document: Mapping[str, Any],
    *,
    base: Watchlist | None = None,
    where: str = "watchlist",
) -> Watchlist:
    """Build a watchlist from a parsed document, on top of `base` if given."""
    entities = [
        _entity(raw, f"{where}.entities[{i}]") for i, raw in enumerate(document.get("entities", ()))
    ]
    topics = [
        _topic(raw, f"{where}.topics[{i}]") for i, raw in enumerate(document.get("topics", ()))
    ]
    if base is None:
        return Watchlist(tuple(entities), tuple(topics))
    return Watchlist(_merge(base.entities, entities), _merge(base.topics, topics))


def builtin_watchlist() -> Watchlist:
    """The watchlist that ships with crackdown."""
    text = resources.files("crawler").joinpath("data/watchlist.toml").read_text("utf-8")
    return build_watchlist(tomllib.loads(text), where="crawler/data/watchlist.toml")
