"""The benchmarks still run, and the filter bench's independent oracle agrees with the matcher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _filter_bench(*args: str, timeout: float) -> dict[str, Any]:
    """`bench/filter.py --json` at a small size with 50 phrases: its figures, or the test fails."""
    result = subprocess.run(
        [sys.executable, "bench/filter.py", "--phrases", "50", "--baseline-mb", "0.05", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_filter_bench_runs_and_its_oracle_agrees_with_the_matcher() -> None:
    figures = _filter_bench("--mb", "0.3", "--json", timeout=120)
    assert figures["entity_hits"] > 0 and figures["matcher_mbps"] > 0
    # how noisy the machine was: CPU-time figure, CPU share, load average
    assert figures["matcher_cpu_mbps"] > 0 and 0 < figures["matcher_cpu_share"] <= 1.5
    assert " -> " in figures["load_average"]
    assert figures["stories_off"] == 0, "stories where the matcher's hits differ from the oracle"


def test_filter_bench_against_times_both_sides_in_child_processes() -> None:
    """With --against, this checkout runs in a child like the other one (no parent's heap)."""
    figures = _filter_bench("--mb", "0.2", "--runs", "2", "--against", ".", "--json", timeout=180)
    assert figures["timed_in"] == "a child process"
    assert figures["ratio_vs_against_cpu"] > 0 and figures["matcher_cpu_mbps"] > 0
    assert figures["stories_off"] == 0
