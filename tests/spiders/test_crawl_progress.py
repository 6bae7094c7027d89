"""`crackdown crawl` counts sources and pages on a terminal's stderr, and nowhere else."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path

from crackdown.cli import main
from tests.spiders.conftest import write_config
from tests.spiders.site import SpiderSite


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _crawl(config: Path, err: io.StringIO) -> tuple[int, str]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["--config", str(config), "crawl", "--all"], environ={})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return status, out.getvalue()


def test_a_terminal_sees_sources_and_pages_counted_and_a_pipe_sees_nothing(
    spider_site: SpiderSite, tmp_path: Path
) -> None:
    url = spider_site.site.url
    sources = "".join(
        f'[[sources]]\nkey = "{key}"\nkind = "spider"\nurl = "{url("/utf8/index.html")}"\n'
        f'links = "ul.news a"\nlang = "zh"\nmax_pages = 1\n'
        for key in ("first", "second")
    )
    config = write_config(tmp_path, sources)
    screen = Terminal()
    status, out = _crawl(config, screen)
    assert status == 0, out
    drawn = re.findall(r"\r(\d+)/2 sources crawled, (\d+) pages?\x1b\[K", screen.getvalue())
    assert drawn[0] == ("0", "0")  # shown as soon as the crawl starts
    pages = sum(" HTTP " in line for line in out.splitlines())  # one line per page fetched
    assert pages >= 2 and drawn[-1] == ("2", str(pages))
    assert [int(n) for _, n in drawn] == sorted(int(n) for _, n in drawn)  # it moves
    assert screen.getvalue().endswith("\r\x1b[K")  # erased before the summary line
    assert "\r" not in out  # stdout keeps whole lines
    assert out.splitlines()[-1].startswith("2 crawled, 0 failed")

    pipe = io.StringIO()
    status, out = _crawl(config, pipe)
    assert status == 0 and "sources crawled" not in pipe.getvalue()
    assert "\r" not in pipe.getvalue() and out.splitlines()[-1].startswith("2 crawled")
