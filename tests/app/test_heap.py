"""Start-up leaves the long-lived heap out of the garbage collector's walks (issue 20)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc, sys
from crackdown.app import open_app
from crackdown.config import build_config
before = gc.get_freeze_count()
open_app(build_config({"storage": {"url": "sqlite:///" + sys.argv[1]}}, {}))
frozen = gc.get_freeze_count()
open_app(build_config({"storage": {"url": "sqlite:///" + sys.argv[1]}}, {}))
print(before, frozen, gc.get_freeze_count(), gc.get_threshold()[0])
"""


def test_open_app_freezes_the_start_up_heap_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, frozen, again, young = (int(v) for v in done.stdout.split())
    assert before == 0
    assert frozen > 100_000  # the watchlist automaton, the filters, the imports
    assert again - frozen < 1_000  # a second app (a reload, a test) freezes nothing more
    assert young >= 10_000
