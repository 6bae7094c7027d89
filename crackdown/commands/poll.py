"""`crackdown poll`: poll the due feeds (or the named ones, or all) now, one line each."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from crackdown import exitcodes
from crackdown.config import ConfigError
from crackdown.console.progress import Progress
from crackdown.runtime.poll_results import SourcePoll
from crawler.http import make_client

if TYPE_CHECKING:
    from crackdown.app import App


def poll_line(result: SourcePoll) -> str:
    """`key  status  items  new  matched  time  next`, or the error."""
    when = result.next_poll_at.strftime("%H:%M:%S") if result.next_poll_at else "-"
    head = f"{result.key:<20} {result.status:<9}"
    if result.error is not None:
        return f"{head} failed {result.failures}x: {result.error} (retry at {when} UTC)"
    r = result.report
    return (
        f"{head} {result.items:>4} items {r.stories:>4} new {r.matched:>3} matched "
        f"{result.seconds * 1000:>6.0f} ms  next {when} UTC"
    )


async def poll_command(app: App, *, keys: list[str] | None, everything: bool, out: TextIO) -> int:
    """`crackdown poll`: due sources (or the named ones, or all), one line each."""
    feeds = app.feeds()
    if keys:
        known = {s.key: s for s in feeds}
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ConfigError(f"no enabled feed source {unknown[0]!r} (see crackdown sources)")
        chosen = [known[k] for k in keys]
    async with make_client(app.policy, keepalive=app.config.http.concurrency) as client:
        poller = app.poller(client)
        if not keys:
            chosen = app.without_paused(feeds, out) if everything else poller.due(feeds)
        if not chosen:
            out.write("nothing is due (--all polls every source now)\n")
            return exitcodes.OK
        progress = Progress(out, len(chosen), "feeds")
        report = await poller.poll(
            chosen,
            lambda result: progress.step(poll_line(result), result.report.stories, result.error),
        )
        progress.close()
    if progress.tty:  # the counter is gone: the lines, in config order
        for result in report.results:
            out.write(poll_line(result) + "\n")
    out.write(
        f"{report.polled} polled, {len(report.failed)} failed: {report.stories} new stories, "
        f"{report.matched} matched, {report.queued} alerts queued\n"
    )
    return exitcodes.of_sources(report.polled, len(report.failed))
