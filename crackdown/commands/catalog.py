"""The source catalogue (crawler/data/catalog.toml): vetted sources an operator adds by key.

Each entry names a source in English and Chinese, says what it publishes
and why it matters here, and carries the `[[sources]]` table it expands
to. Entries are validated as sources when the catalogue is read, so a bad
entry is an error naming its key, never a config that fails later.
`sources add` appends entries to config.toml the way `sources import`
does: text appended, comments kept, the result validated before writing.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from crackdown.config import ConfigError, SourceConfig, build_config, load_config

REGIONS = ("mainland", "hk", "media", "intl")


@dataclass(frozen=True)
class Entry:
    """One catalogue source: who publishes it, why it matters, and its source table."""

    key: str
    name_en: str
    name_zh: str
    region: str
    lang: str
    publishes: str
    why: str
    source: Mapping[str, Any]
    recommended: bool = False
    needs: str | None = None  # "browser": a plain fetch gets a JavaScript challenge (render)

    @property
    def kind(self) -> str:
        return str(self.source.get("kind", "feed"))

    @property
    def url(self) -> str:
        return str(self.source["url"])

    def table(self) -> dict[str, Any]:
        """The `[[sources]]` table: key, the English name alerts show, then the source's keys."""
        return {"key": self.key, "name": self.name_en, **self.source}

    def config(self) -> SourceConfig:
        return SourceConfig.model_validate(self.table())

    def toml(self) -> str:
        """The entry as a `[[sources]]` table for config.toml, with a comment saying what it is."""
        lines = [f"# {self.name_en} / {self.name_zh}: {self.publishes}"]
        if self.needs == "browser":
            lines.append(
                "# Needs a browser (render = \"browser\"): pip install 'crackdown[browser]' "
                "and Debian's chromium."
            )
        lines.append("[[sources]]")
        table = self.table()
        nested = {k: v for k, v in table.items() if isinstance(v, dict) and k == "api"}
        lines += [f"{k} = {_toml(v)}" for k, v in table.items() if k not in nested]
        for name, table in nested.items():
            lines.append(f"[sources.{name}]")
            lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
        return "\n".join(lines) + "\n"

    def row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "kind": self.kind,
            "url": self.url,
            "lang": self.lang,
            "region": self.region,
            "publishes": self.publishes,
            "why": self.why,
            "recommended": self.recommended,
            "needs": self.needs,
        }


def _toml(value: Any) -> str:
    """A TOML value: strings as basic strings (JSON's escapes are TOML's), inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def catalog_path() -> Path:
    return Path(str(files("crawler") / "data" / "catalog.toml"))


def _entry(data: Mapping[str, Any], index: int) -> Entry:
    key = data.get("key")
    where = f"catalog entry {key!r}" if key else f"catalog entry [{index}]"
    try:
        entry = Entry(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if entry.region not in REGIONS:
        raise ConfigError(f"{where}: region must be one of {', '.join(REGIONS)}")
    if (entry.needs == "browser") != (entry.source.get("render") == "browser"):
        raise ConfigError(f'{where}: needs = "browser" goes with render = "browser"')
    try:
        build_config({"sources": [{"key": entry.key, **entry.source}]}, {})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).replace('sources[0].', 'source.')}") from None
    return entry


def load_catalog(path: Path | None = None) -> list[Entry]:
    """Every entry, validated; ConfigError naming the entry's key if one is broken."""
    path = path or catalog_path()
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    entries = [_entry(data, i) for i, data in enumerate(document.get("entries", []))]
    seen: set[str] = set()
    for entry in entries:
        if entry.key in seen:
            raise ConfigError(f"catalog entry {entry.key!r}: duplicate key")
        seen.add(entry.key)
    return entries


def pick(entries: Sequence[Entry], keys: Iterable[str]) -> list[Entry]:
    """The named entries, in the order given; an unknown key is an error."""
    by_key = {e.key: e for e in entries}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ConfigError(
            f"no catalogue entry {unknown[0]!r} (see crackdown sources catalog for the keys)"
        )
    return [by_key[k] for k in dict.fromkeys(keys)]


def catalog_table(entries: Sequence[Entry]) -> str:
    """key, name, kind, url, lang, region: one line per entry."""
    header = f"{'key':<22} {'kind':<6} {'lang':<4} {'region':<8} {'name':<40} url"
    lines = [header]
    for e in entries:
        mark = " (needs a browser)" if e.needs == "browser" else ""
        name = f"{e.name_en} / {e.name_zh}"
        lines.append(f"{e.key:<22} {e.kind:<6} {e.lang:<4} {e.region:<8} {name:<40} {e.url}{mark}")
    lines.append(f"{len(entries)} sources; add them with: crackdown sources add KEY...")
    return "\n".join(lines)


def catalog_json(entries: Sequence[Entry]) -> str:
    return json.dumps([e.row() for e in entries], ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class AddPlan:
    added: list[Entry] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)  # key or URL already configured


def add_to_config(
    config_path: Path, chosen: Sequence[Entry], environ: Mapping[str, str]
) -> AddPlan:
    """Append the entries not configured yet; written only if the result validates."""
    current = load_config(config_path, environ, required=False)
    keys = {s.key for s in current.sources}
    feeds = {s.url for s in current.sources if s.kind == "feed"}  # (API URLs may be shared)
    plan = AddPlan()
    for entry in chosen:
        known = entry.key in keys or (entry.kind == "feed" and entry.url in feeds)
        (plan.skipped if known else plan.added).append(entry)
    if not plan.added:
        return plan
    text = config_path.read_text("utf-8") if config_path.exists() else ""
    updated = text.rstrip("\n") + "\n" + "".join("\n" + e.toml() for e in plan.added)
    try:
        build_config(tomllib.loads(updated), environ)
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"adding would break the config: {exc}") from exc
    try:
        config_path.write_text(updated, "utf-8")
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot write: {exc.strerror}") from exc
    return plan
