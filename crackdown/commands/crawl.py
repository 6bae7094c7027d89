"""`crackdown crawl`: crawl the due spider sources (or the named ones, or all) now."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from crackdown import exitcodes
from crackdown.config import ConfigError
from crackdown.console.progress import Meter

if TYPE_CHECKING:
    from crackdown.app import App


async def crawl_command(
    app: App,
    *,
    keys: list[str] | None,
    everything: bool,
    cache_dir: Path | None,
    out: TextIO,
    err: TextIO | None = None,
) -> int:
    """`crackdown crawl`: due spider sources (or the named ones, or all), with progress lines.

    On a terminal's `err` a counter of sources and pages stays under the lines (nothing
    elsewhere): a crawl of slow government sites can sit for minutes between lines.
    """
    spiders = app.spiders()
    known = {s.key: s for s in spiders}
    unknown = [k for k in keys or () if k not in known]
    if unknown:
        raise ConfigError(f"no enabled spider source {unknown[0]!r} (see crackdown sources)")
    meter = Meter(err or io.StringIO(), "sources")
    meter.detail = " crawled, 0 pages"
    crawling = False  # the counter is shown under the lines only while the crawl runs

    def say(line: str) -> None:
        meter.clear()
        out.write(line + "\n")
        out.flush()
        if crawling:
            meter.redraw()

    def count(finished: int, pages: int) -> None:
        meter.step(finished - meter.done, f" crawled, {pages} page{'' if pages == 1 else 's'}")

    runner = app.spider_runner(progress=say, cache_dir=cache_dir, counter=count)
    if keys:
        chosen = [known[k] for k in keys]
    else:
        chosen = app.without_paused(spiders, out) if everything else runner.due(spiders)
    if not chosen:
        say("nothing is due (--all crawls every spider source now)")
        return exitcodes.OK
    if cache_dir is not None:
        say(f"HTTP cache: {cache_dir} (development only: responses are replayed, not refetched)")
    meter.total, crawling = len(chosen), True
    meter.redraw()
    try:
        report = await runner.crawl(chosen)
    finally:
        crawling = False
        meter.close()
    say(
        f"{len(report.results)} crawled, {len(report.failed)} failed: {report.stories} new "
        f"stories, {report.matched} matched, {report.queued} alerts queued"
    )
    return exitcodes.of_sources(len(report.results), len(report.failed))
