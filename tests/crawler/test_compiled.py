"""The compiled matcher (mypyc and the C scan, setup.py) and the interpreted one decide alike.

Which build runs is said, not guessed: CI sets CRACKDOWN_EXPECT_COMPILED=1 (.ci/run),
so a build that silently fell back to the .py fails there. The other build runs in a
child process (crawler.compiled.INTERPRETED_ENV) over the whole fingerprint set.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import crawler.matcher
import crawler.native
from crawler import compiled
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import builtin_watchlist

ROOT = Path(__file__).resolve().parents[2]
EXPECT = "CRACKDOWN_EXPECT_COMPILED"
_CHILD = (
    "import json, crawler.compiled, crawler.matcher\n"
    "from bench.fingerprint import fingerprints\n"
    "found = fingerprints(with_eval=False)\n"
    "found['compiled'] = crawler.compiled.is_compiled(crawler.matcher)\n"
    "found['native'] = crawler.native.Index is not None\n"
    "print(json.dumps(found))\n"
)


def _fingerprints(interpreted: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != compiled.INTERPRETED_ENV}
    if interpreted:
        env[compiled.INTERPRETED_ENV] = "1"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return dict(json.loads(done.stdout))


def test_the_build_that_runs_is_the_one_expected() -> None:
    modules = [importlib.import_module(name) for name in compiled.COMPILED_MODULES]
    built = [compiled.is_compiled(module) for module in modules]
    assert len(set(built)) == 1, (
        f"all or none compiled: {dict(zip(compiled.COMPILED_MODULES, built, strict=True))}"
    )
    if built[0]:
        package = Path(crawler.matcher.__file__).parent
        assert (package / compiled.STAMP).read_text().strip() == compiled.sources_hash(package)
    if os.environ.get(EXPECT):
        assert built[0], (
            f"{EXPECT} is set but the interpreted matcher runs: did setup.py's mypyc build fail?"
        )


def test_the_c_scan_runs_when_expected() -> None:
    """setup.py builds crawler/_native.c beside the mypyc modules; CI requires it too."""
    if os.environ.get(EXPECT) and not os.environ.get(compiled.INTERPRETED_ENV):
        assert crawler.native.Index is not None, (
            f"{EXPECT} is set but the Python scan runs: did setup.py build crawler/_native.c?"
        )
    matcher = Matcher(builtin_watchlist())
    assert (matcher._native is not None) == (crawler.native.Index is not None)


def test_stale_extensions_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extensions compiled from other sources (an edit, a merge) give way to the .py files."""
    monkeypatch.delenv(compiled.INTERPRETED_ENV, raising=False)
    for name in compiled.COMPILED_MODULES:
        (tmp_path / (name.rpartition(".")[2] + ".py")).write_text(f"NAME = {name!r}\n")
    (tmp_path / compiled.STAMP).write_text("0" * 64 + "\n")
    spec = compiled.InterpretedWhenStale().find_spec("crawler.fold", [str(tmp_path)])
    assert spec is not None and spec.origin == str(tmp_path / "fold.py")
    (tmp_path / compiled.STAMP).write_text(compiled.sources_hash(tmp_path))
    assert compiled.InterpretedWhenStale().find_spec("crawler.fold", [str(tmp_path)]) is None


def test_a_match_result_crosses_process_boundaries() -> None:
    """The parse worker sends results back pickled: every object in one must unpickle."""
    matcher = Matcher(builtin_watchlist())
    raw = RawStory("s", "https://x.example/1", "China bans crypto", "Binance halts OTC in China.")
    result = matcher.match(normalise(raw, fetched_at=datetime(2024, 6, 1, tzinfo=UTC)))
    assert result.snippets and result.hits
    assert pickle.loads(pickle.dumps(result)) == result


def test_compiled_and_interpreted_builds_decide_alike() -> None:
    if not compiled.is_compiled(crawler.matcher):
        pytest.skip("no compiled matcher here (setup.py's mypyc build did not run)")
    interpreted, built = _fingerprints(interpreted=True), _fingerprints(interpreted=False)
    assert (interpreted.pop("compiled"), built.pop("compiled")) == (False, True)
    # the interpreted build scans in Python; the compiled one in C where it is built
    assert (interpreted.pop("native"), built.pop("native")) == (
        False,
        crawler.native.Index is not None,
    )
    assert interpreted == built
