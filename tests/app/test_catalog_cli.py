"""`crackdown sources catalog | add | check` and `crackdown init`, as an operator runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from crackdown.cli import main
from crackdown.commands.catalog import load_catalog
from crackdown.config import build_config, load_config
from tests.app.catalog_site import catalog_site

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = load_catalog()
BROWSER = {e.key for e in ENTRIES if e.needs == "browser"}
CHROMIUM = Path("/usr/bin/chromium")  # what crawl.browser defaults to


def test_catalog_lists_every_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "catalog"], {}) == 0
    table = capsys.readouterr().out
    for entry in ENTRIES:
        line = next(x for x in table.splitlines() if x.startswith(entry.key + " "))
        assert entry.kind in line and entry.url in line and entry.region in line
    assert main(["sources", "catalog", "--json"], {}) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in rows] == [e.key for e in ENTRIES]
    assert {"key", "name_en", "name_zh", "kind", "url", "lang", "region", "why"} <= set(rows[0])


def test_add_appends_entries_keeping_comments_and_skips_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    original = '# my settings\n[storage]\nurl = "sqlite:///x.db"  # here\n'
    config.write_text(original, "utf-8")
    env = {"CRACKDOWN_CONFIG": str(config)}
    assert main(["sources", "add", "nfra-penalties", "chaincatcher", "pboc-news"], env) == 0
    text = config.read_text("utf-8")
    assert text.startswith(original)
    loaded = load_config(config, {})
    assert [s.key for s in loaded.sources] == ["nfra-penalties", "chaincatcher", "pboc-news"]
    assert loaded.sources[1].api is not None and loaded.sources[1].api.method == "POST"
    assert loaded.sources[2].enabled and loaded.sources[2].render == "browser"
    # Alerts show the catalogue's English name, not the key.
    assert [s.name for s in loaded.sources] == [
        "NFRA administrative penalties",
        "ChainCatcher",
        "PBoC news releases",
    ]
    assert "3 added, 0 skipped" in capsys.readouterr().out
    assert main(["sources", "add", "nfra-penalties", "decrypt"], env) == 0
    assert "1 added, 1 skipped" in capsys.readouterr().out
    assert config.read_text("utf-8").count('key = "nfra-penalties"') == 1


def test_add_refuses_unknown_keys_and_leaves_a_broken_config_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[polling]\ntick = 'soon'\n", "utf-8")
    env = {"CRACKDOWN_CONFIG": str(config)}
    assert main(["sources", "add", "decrypt"], env) == 2
    assert "polling.tick" in capsys.readouterr().err
    assert main(["sources", "add", "no-such-source"], env) == 2
    assert "no catalogue entry 'no-such-source'" in capsys.readouterr().err
    assert config.read_text("utf-8") == "[polling]\ntick = 'soon'\n"


def test_init_writes_a_documented_config_with_the_recommended_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    env = {"CRACKDOWN_CONFIG": str(config)}
    assert main(["init"], env) == 0
    text = config.read_text("utf-8")
    loaded = build_config(tomllib.loads(text), {})
    recommended = [e.key for e in ENTRIES if e.recommended]
    assert [s.key for s in loaded.sources] == recommended
    names = {e.key: e.name_en for e in ENTRIES}
    assert [s.name for s in loaded.sources] == [names[key] for key in recommended]
    assert len(recommended) >= 15
    for entry in ENTRIES:  # every other entry is named, to be added by key
        assert entry.key in text
    example = (ROOT / "config.example.toml").read_text("utf-8")
    for section in re.findall(r"^\[(\w+)\]$", example, re.M):
        assert f"\n[{section}]\n" in text  # every section, with its documentation
    assert "# # detail_body" in text and '# key = "pbc-notices"' in text  # source keys too
    assert f"{len(recommended)} sources" in capsys.readouterr().out
    assert main(["init"], env) == 2  # never overwrites by accident
    assert "already exists" in capsys.readouterr().err
    assert main(["init", "--force"], env) == 0


def test_sources_check_reads_every_catalogue_entry_from_its_fixture(tmp_path: Path) -> None:
    """The target: on the fixtures every entry yields items with titles, links and dates."""
    with catalog_site(ENTRIES) as site:
        tables = [
            replace(
                e, source={k: v for k, v in site.rewrite(e, enabled=True).items() if k != "key"}
            )
            for e in ENTRIES
        ]
        config = tmp_path / "config.toml"
        crawl = '[crawl]\ndelay = "0"\nretries = 0\ntimeout = "10s"\n'
        config.write_text(crawl + "".join("\n" + e.toml() for e in tables), "utf-8")
        assert [s.key for s in load_config(config, {}).sources] == [e.key for e in ENTRIES]
        env = {**os.environ, "CRACKDOWN_CONFIG": str(config)}
        done = subprocess.run(
            [sys.executable, "-m", "crackdown", "sources", "check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        some = subprocess.run(
            [sys.executable, "-m", "crackdown", "sources", "check", "csrc-news", "hk-gov-news"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    out = done.stdout.splitlines()
    for entry in ENTRIES:
        (line,) = [x for x in out if x.startswith(entry.key + " ")]
        if entry.key in BROWSER and not CHROMIUM.exists():  # the browser tests skip, too
            assert " 0 items" in line and "render = browser needs Chromium" in line
        else:
            assert re.search(r" (\d+) items +\1 dated +newest 2026-01-0\d \d\d:\d\d UTC +ok$", line)
    if CHROMIUM.exists():
        assert done.returncode == 0, done.stderr
        assert out[-1] == f"{len(ENTRIES)} checked: {len(ENTRIES)} ok, 0 with problems"
    else:
        assert done.returncode == 1, done.stderr
        assert out[-1] == f"{len(ENTRIES)} checked: {len(ENTRIES) - 4} ok, 4 with problems"
    assert some.returncode == 0 and some.stdout.endswith("2 checked: 2 ok, 0 with problems\n")
