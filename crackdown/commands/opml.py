"""OPML in and out: the format every feed reader imports and exports.

Import appends `[[sources]]` tables to the config file (its comments and
layout stay as they are) after checking that the result still validates.
"""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from crackdown.config import ConfigError, SourceConfig, build_config, load_config

_SLUG = re.compile(r"[^a-z0-9]+")


class OpmlError(ValueError):
    """An OPML document that cannot be imported; the message says why."""


@dataclass(frozen=True)
class Outline:
    title: str
    url: str


def parse_opml(content: bytes) -> list[Outline]:
    """Every outline with an xmlUrl, however deep in folders, in document order."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise OpmlError(f"not valid XML: {exc}") from exc
    if root.tag.lower() != "opml":
        raise OpmlError(f"not an OPML document (root element <{root.tag}>)")
    outlines = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if url:
            outlines.append(Outline((node.get("title") or node.get("text") or "").strip(), url))
    if not outlines:
        raise OpmlError("no feeds in it (no <outline> with an xmlUrl)")
    return outlines


def _slug(outline: Outline) -> str:
    for candidate in (outline.title, urlsplit(outline.url).hostname or ""):
        slug = _SLUG.sub("-", candidate.lower()).strip("-")[:40].strip("-")
        if slug:
            return slug
    return "feed"


@dataclass(frozen=True)
class ImportPlan:
    added: list[tuple[str, str]]  # (key, url)
    skipped: list[str]  # URLs already configured or repeated

    def toml(self, interval: str) -> str:
        return "".join(
            f'\n[[sources]]\nkey = "{key}"\nkind = "feed"\n'
            f'url = {_toml_string(url)}\ninterval = "{interval}"\n'
            for key, url in self.added
        )


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plan_import(outlines: Iterable[Outline], existing: Sequence[SourceConfig]) -> ImportPlan:
    """New sources for outlines whose URL is not configured yet, with unique keys."""
    keys = {s.key for s in existing}
    urls = {s.url for s in existing}
    added: list[tuple[str, str]] = []
    skipped: list[str] = []
    for outline in outlines:
        if outline.url in urls:
            skipped.append(outline.url)
            continue
        base = key = _slug(outline)
        number = 2
        while key in keys:
            key = f"{base}-{number}"
            number += 1
        keys.add(key)
        urls.add(outline.url)
        added.append((key, outline.url))
    return ImportPlan(added, skipped)


def render_opml(sources: Iterable[SourceConfig], title: str = "crackdown sources") -> str:
    """OPML 2.0 of the feed sources, readable by any feed reader."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{title}</title></head>",
        "  <body>",
    ]
    for source in sources:
        if source.kind == "feed":
            key, url = quoteattr(source.key), quoteattr(source.url)
            lines.append(f'    <outline type="rss" text={key} title={key} xmlUrl={url}/>')
    lines += ["  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def import_into_config(
    config_path: Path, opml_path: Path, interval: str, environ: Mapping[str, str]
) -> ImportPlan:
    """Append the OPML's new feeds to the config file, only if the result validates."""
    try:
        outlines = parse_opml(opml_path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{opml_path}: cannot read: {exc.strerror}") from exc
    except OpmlError as exc:
        raise ConfigError(f"{opml_path}: {exc}") from exc
    current = load_config(config_path, environ, required=False)
    plan = plan_import(outlines, current.sources)
    if not plan.added:
        return plan
    text = config_path.read_text("utf-8") if config_path.exists() else ""
    updated = text.rstrip("\n") + "\n" + plan.toml(interval)
    try:
        build_config(tomllib.loads(updated), environ)
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{opml_path}: importing would break the config: {exc}") from exc
    config_path.write_text(updated, "utf-8")
    return plan
