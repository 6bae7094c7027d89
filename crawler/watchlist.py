"""The watchlist: entities with all their names, and topics built from them.

The built-in list ships as `crawler/data/watchlist.toml`; config may add
entities and topics or replace built-in ones by key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

_KEY = re.compile(r"^[a-z0-9][a-z0-9\-]*$")


@dataclass(frozen=True)
class Entity:
    """Something subscribers follow, known by several names."""

    key: str
    category: str
    name_en: str
    name_zh: str
    aliases: tuple[str, ...]
    acronyms: tuple[str, ...] = ()  # matched case-sensitively: "SAFE" is not "safe"
    report: bool = True  # False: a signal for rules (an action, a place), never shown as an entity
    implies: tuple[str, ...] = ()  # keys that hold whenever this one does (Binance -> exchange)
    # The company group it belongs to, for clustering: Tenpay's and WeChat Pay's notices can be
    # one event, Alipay's and WeChat Pay's cannot. Default: its own key.
    family: str = ""
    # Actions only: the kind of action the words name (ban, warning, arrest...), shown with
    # a match so a reader sees what happened, not just that something did.
    act: str = ""


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

    def names(self) -> frozenset[str]:
        """Every name a rule may use: entity keys and categories."""
        return frozenset(e.key for e in self.entities) | self.categories


class WatchlistError(ValueError):
    """A watchlist document that cannot be used; the message names the entry."""


def _entity(raw: Mapping[str, Any], where: str) -> Entity:
    unknown = set(raw) - {
        "key",
        "category",
        "name_en",
        "name_zh",
        "aliases",
        "acronyms",
        "report",
        "implies",
        "family",
        "act",
    }
    if unknown:
        raise WatchlistError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    try:
        entity = Entity(
            key=str(raw["key"]),
            category=str(raw["category"]),
            name_en=str(raw["name_en"]),
            name_zh=str(raw["name_zh"]),
            aliases=tuple(str(a) for a in raw.get("aliases", ())),
            acronyms=tuple(str(a) for a in raw.get("acronyms", ())),
            report=bool(raw.get("report", True)),
            implies=tuple(str(k) for k in raw.get("implies", ())),
            family=str(raw.get("family", "")),
            act=str(raw.get("act", "")),
        )
    except KeyError as exc:
        raise WatchlistError(f"{where}: missing {exc.args[0]}") from exc
    if not entity.aliases and not entity.acronyms:
        raise WatchlistError(f"{where}: no aliases")
    for field, value in (("key", entity.key), ("family", entity.family or entity.key)):
        if not _KEY.match(value):
            raise WatchlistError(f"{where}.{field}: {value!r} must be lower-case, digits, '-'")
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
        watchlist = Watchlist(tuple(entities), tuple(topics))
    else:
        watchlist = Watchlist(_merge(base.entities, entities), _merge(base.topics, topics))
    keys = {e.key for e in watchlist.entities}
    for entity in watchlist.entities:
        unknown = [k for k in entity.implies if k not in keys]
        if unknown:
            raise WatchlistError(f"{where}: entity {entity.key!r} implies unknown {unknown[0]!r}")
    return watchlist


def builtin_watchlist() -> Watchlist:
    """The watchlist that ships with crackdown."""
    text = resources.files("crawler").joinpath("data/watchlist.toml").read_text("utf-8")
    return build_watchlist(tomllib.loads(text), where="crawler/data/watchlist.toml")
