"""The README's promises: its commands come first, and CI runs the test command."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from crackdown.cli import main

ROOT = Path(__file__).resolve().parents[1]
# The 25 entity keys the corpus format labels (the shared corpus README).
CORPUS_KEYS = set(
    [
        "exchange",
        "bitcoin",
        "virtual-currency",
        "pboc",
        "mps",
        "alipay",
        "ban",
        "money-laundering",
        "mining",
        "tencent",
        "otc",
        "ant-group",
        "ico",
        "hk-sfc",
        "wechat-pay",
        "binance",
        "stablecoin",
        "illegal-fundraising",
        "csrc",
        "cbirc",
        "huobi",
        "okx",
        "safe",
        "unionpay",
        "cac",
    ]
)


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)
    assert block, "the README must open with a sh code block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_the_demo_and_the_test_command() -> None:
    demo, tests = readme_commands()
    assert demo.endswith("crackdown demo")
    assert tests.endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _demo, tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    assert tests in ci_lines


def test_the_readme_eval_example_runs_from_a_fresh_clone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`crackdown eval PATH` as the README writes it, from the repository root, on shipped data."""
    line = next(
        line
        for line in (ROOT / "README.md").read_text("utf-8").splitlines()
        if line.startswith("crackdown eval ")
    )
    args = shlex.split(line.partition("#")[0])[1:]
    corpus = ROOT / args[-1]
    assert corpus.resolve().is_relative_to(ROOT / "crackdown"), "shipped in the package"
    monkeypatch.chdir(ROOT)
    assert main(args, environ={}) == 0
    out = capsys.readouterr().out
    assert re.search(r"relevance\s+precision [01]\.\d{3}\s+recall [01]\.\d{3}", out), out
    rows = [json.loads(row) for row in corpus.read_text("utf-8").splitlines()]
    assert 20 <= len(rows) <= 40 and len({r["id"] for r in rows}) == len(rows)
    assert {(r["lang"], r["label"]) for r in rows} == {("en", 0), ("en", 1), ("zh", 0), ("zh", 1)}
    assert all(set(r["entities"]) <= CORPUS_KEYS for r in rows)
    assert any(r["hard"] and not r["label"] for r in rows)  # near misses among the negatives
