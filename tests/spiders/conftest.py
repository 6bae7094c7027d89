"""Spider fixtures: the loopback site, a config naming its sources, the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from crackdown.cli import main
from tests.spiders.site import SpiderSite

# Fast and small for tests: no delay, 1 s per request, no retries, 300 KB per response.
CRAWL = """
[http]
max_bytes = 300000
[crawl]
delay = "0"
timeout = "1s"
retries = 0
batch_timeout = "60s"
[polling]
jitter = 0
"""


def write_config(folder: Path, sources: str, *, crawl: str = CRAWL, extra: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///{folder / "crackdown.db"}"\n{crawl}\n{extra}\n{sources}',
        encoding="utf-8",
    )
    return path


def run_cli(*args: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`crackdown ARGS` in this process: exit status, stdout, stderr (logging left as found)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(args), environ=environ or {})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def spider_site() -> Iterator[SpiderSite]:
    with SpiderSite() as site:
        yield site
