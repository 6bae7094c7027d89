"""bench/crawl.py still runs, and its crawl stores every page and matches every planted headline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_crawl_bench_runs_and_its_figures_add_up() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "bench/crawl.py",
            "--pages",
            "60",
            "--hosts",
            "2",
            "--extract-sample",
            "10",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    crawl = figures["crackdown"]
    assert crawl["article_pages"] == crawl["stories"] == 60
    assert crawl["errors"] == 0 and crawl["failed_sources"] == []
    assert crawl["matched"] == figures["planted_hits"] > 0
    assert crawl["pages_per_s"] > 0 and figures["extraction_ms_per_page"] > 0
    assert figures["baseline"]["extracted"] == 60 and figures["speedup"] > 0
