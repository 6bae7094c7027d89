"""`crackdown init`: a starting config.toml, every key documented, sources from the catalogue.

The text is config.example.toml's (shipped as crackdown/data/config.example.toml, a link to
the repository's copy, so the two never drift): its sections as they are, its source
examples commented out, then the catalogue's recommended sources and a list of the others.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

from crackdown.commands.catalog import Entry, load_catalog
from crackdown.config import ConfigError, build_config

SOURCES_MARK = "# Sources: one [[sources]] table each."


def example_text() -> str:
    return (files("crackdown") / "data" / "config.example.toml").read_text("utf-8")


def _commented(block: str) -> str:
    return "\n".join(
        line if line.startswith("#") or not line.strip() else f"# {line}"
        for line in block.splitlines()
    )


def starting_config(entries: list[Entry]) -> str:
    """The config text: example settings, source keys documented, recommended sources on."""
    example = example_text()
    cut = example.index(SOURCES_MARK)
    recommended = [e for e in entries if e.recommended]
    others = [e for e in entries if not e.recommended]
    parts = [
        example[:cut].rstrip("\n"),
        "",
        "# Sources: one [[sources]] table each. Every key a source may set, with examples",
        "# (from config.example.toml; commented out):",
        "#",
        _commented(example[cut + len(SOURCES_MARK) :].strip("\n")),
        "",
        "# ---------------------------------------------------------------------------",
        "# The catalogue's recommended sources (`crackdown sources catalog` lists them all).",
        "# Built from published structures: verify each with `crackdown sources check`.",
        "# ---------------------------------------------------------------------------",
    ]
    parts += ["\n" + e.toml().rstrip("\n") for e in recommended]
    parts += ["", "# Other catalogue sources; add any with `crackdown sources add KEY...`:"]
    width = max((len(e.key) for e in others), default=0)
    parts += [
        f"#   {e.key:<{width}}  {e.kind:<6} {e.lang}  {e.name_en} / {e.name_zh}"
        + ("  (needs a browser)" if e.needs == "browser" else "")
        for e in others
    ]
    return "\n".join(parts) + "\n"


def write_starting_config(path: Path, *, force: bool = False) -> int:
    """Write the starting config to `path`; the number of sources it enables."""
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite it)")
    entries = load_catalog()
    text = starting_config(entries)
    try:
        config = build_config(tomllib.loads(text), {})
    except (ConfigError, tomllib.TOMLDecodeError) as exc:  # a bug here, not the operator's
        raise ConfigError(f"the starting config does not validate: {exc}") from exc
    try:
        path.write_text(text, "utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from exc
    return len(config.sources)
