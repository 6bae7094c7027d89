"""The benchmarks still run, and the filter bench's independent oracle agrees with the matcher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_filter_bench_runs_and_its_oracle_agrees_with_the_matcher() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "bench/filter.py",
            "--mb",
            "0.3",
            "--phrases",
            "50",
            "--baseline-mb",
            "0.05",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["entity_hits"] > 0 and figures["matcher_mbps"] > 0
    # how noisy the machine was: CPU-time figure, CPU share, load average
    assert figures["matcher_cpu_mbps"] > 0 and 0 < figures["matcher_cpu_share"] <= 1.5
    assert " -> " in figures["load_average"]
    assert figures["stories_off"] == 0, "stories where the matcher's hits differ from the oracle"


def test_filter_bench_against_times_both_sides_in_child_processes() -> None:
    """With --against, this checkout runs in a child like the other one (no parent's heap)."""
    result = subprocess.run(
        [
            sys.executable,
            "bench/filter.py",
            "--mb",
            "0.2",
            "--phrases",
            "50",
            "--baseline-mb",
            "0.05",
            "--runs",
            "2",
            "--against",
            ".",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["timed_in"] == "a child process"
    assert figures["ratio_vs_against_cpu"] > 0 and figures["matcher_cpu_mbps"] > 0
    assert figures["stories_off"] == 0
