"""Prometheus metrics and /healthz on `[metrics] listen`, served from a thread.

Counters are fed from the reports the daemon already gets back from each
poll and drain, so polling and delivery stay free of metrics code. Gauges
that live in the database (outbox backlog, its oldest row, database size,
the last successful poll) are read when Prometheus scrapes, so a restarted
daemon reports true values at once.
"""

from __future__ import annotations

import json
import logging
import platform
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from bot.delivery import DeliveryReport
from crackdown.runtime.crawling import CrawlReport
from crackdown.runtime.pipeline import IngestReport
from crackdown.runtime.polling import PollReport
from storage import outbox
from storage.db import Database
from storage.housekeeping import database_bytes, last_poll_success

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Heartbeat:
    """When each scheduler job last finished: /healthz's proof that the scheduler is alive."""

    started: float = field(default_factory=time.monotonic)
    last: dict[str, float] = field(default_factory=dict)

    def beat(self, job: str) -> None:
        self.last[job] = time.monotonic()

    def age(self, job: str) -> float:
        return time.monotonic() - self.last.get(job, self.started)

    def stalled(self, stale_after: float) -> bool:
        """No job has finished for `stale_after` seconds (counted from the start until one has).

        What /healthz reports as "stalled", and when the systemd watchdog is no longer fed.
        """
        freshest = min((self.age(job) for job in self.last), default=self.age(""))
        return freshest > stale_after


class _DatabaseGauges(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.db.session() as session:
                counts = outbox.counts(session)
                last_poll = last_poll_success(session)
            size = database_bytes(self.db)
        except Exception:  # a scrape while the database is away: no gauges, no crash
            log.warning("metrics: database unreachable", exc_info=True)
            return
        now = datetime.now(UTC)
        backlog = GaugeMetricFamily(
            "crackdown_outbox_backlog", "Alerts waiting to be sent", labels=["status"]
        )
        backlog.add_metric(["pending"], counts.pending)
        backlog.add_metric(["sending"], counts.sending)
        yield backlog
        oldest = counts.oldest_due
        yield GaugeMetricFamily(
            "crackdown_outbox_oldest_seconds",
            "Age of the longest-waiting due alert (0 when none)",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )
        if size is not None:
            yield GaugeMetricFamily("crackdown_database_bytes", "Size of the database", value=size)
        if last_poll is not None:  # a timestamp: alert on `time() - this > 3600`
            yield GaugeMetricFamily(
                "crackdown_last_poll_success_timestamp_seconds",
                "When any source was last polled successfully (Unix time)",
                value=last_poll.timestamp(),
            )


class Metrics:
    """The daemon's counters, in a registry of their own (tests make several)."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "crackdown_polls", "Source polls by outcome", ["source", "outcome"], registry=r
        )
        self.stories = Counter("crackdown_stories", "New stories stored", registry=r)
        self.matches = Counter("crackdown_matches", "New stories that matched", registry=r)
        self.queued = Counter("crackdown_alerts_queued", "Outbox rows created", registry=r)
        self.deliveries = Counter(
            "crackdown_deliveries", "Delivery outcomes", ["outcome"], registry=r
        )
        self.rate_limited = Counter(
            "crackdown_telegram_429", "429 answers from Telegram", registry=r
        )
        self.job_seconds = Histogram(
            "crackdown_job_seconds",
            "Scheduler job durations",
            ["job"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.job_errors = Counter(
            "crackdown_job_errors", "Scheduler jobs that raised", ["job"], registry=r
        )
        r.register(_DatabaseGauges(db))
        # process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds...
        ProcessCollector(registry=r)
        Info("crackdown_build", "The running crackdown", registry=r).info(
            {"version": _version(), "python": platform.python_version()}
        )

    def observe_ingest(self, report: IngestReport) -> None:
        self.stories.inc(report.stories)
        self.matches.inc(report.matched)
        self.queued.inc(report.queued)

    def observe_poll(self, report: PollReport | CrawlReport) -> None:
        """A feed poll or a spider crawl: both count as polls of their sources."""
        self.observe_ingest(report)
        for result in report.results:
            outcome = "error" if result.error is not None else "ok"
            self.polls.labels(source=result.key, outcome=outcome).inc()

    def observe_delivery(self, report: DeliveryReport) -> None:
        for outcome in ("sent", "retried", "failed", "skipped", "held", "deferred"):
            value = getattr(report, outcome)
            if value:
                self.deliveries.labels(outcome=outcome).inc(value)
        self.rate_limited.inc(report.rate_limited)

    def render(self) -> bytes:
        return generate_latest(self.registry)


POLL_JOB = "poll_due"  # the daemon's feed-polling job (crackdown.daemon)


def _version() -> str:
    try:
        return metadata.version("crackdown")
    except metadata.PackageNotFoundError:
        return "unknown"


def health(
    db: Database,
    heartbeat: Heartbeat,
    stale_after: float,
    poll_stale_after: float | None = None,
) -> tuple[bool, dict[str, object]]:
    """Is the daemon well? The database answers, the scheduler ran and polling completes.

    Polling is checked on its own: a poll stuck on a source would leave the
    other jobs beating, and the daemon would look well while polling nothing.
    """
    checks: dict[str, object] = {}
    ok = True
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
            counts = outbox.counts(session)
            last_poll = last_poll_success(session)
        checks["database"] = "ok"
        checks["outbox_backlog"] = counts.backlog
        now = datetime.now(UTC)
        checks["last_poll_success_age_s"] = (
            round((now - last_poll).total_seconds(), 1) if last_poll else None
        )
    except Exception as exc:
        ok = False
        checks["database"] = f"error: {type(exc).__name__}"
    ages = {job: round(heartbeat.age(job), 1) for job in heartbeat.last or {"scheduler": 0}}
    checks["job_age_s"] = ages
    if heartbeat.last and heartbeat.stalled(stale_after):
        ok = False
        checks["scheduler"] = "stalled"
    else:
        checks["scheduler"] = "ok"
    if poll_stale_after is not None:
        polled = heartbeat.age(POLL_JOB)  # since the daemon started, before its first poll ends
        checks["polling"] = "ok" if polled <= poll_stale_after else "stalled"
        ok = ok and polled <= poll_stale_after
    checks["status"] = "ok" if ok else "failing"
    return ok, checks


def _handler(
    metrics: Metrics, check: Callable[[], tuple[bool, dict[str, object]]]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE, metrics.render())
            elif path == "/healthz":
                ok, checks = check()
                body = json.dumps(checks).encode()
                self._send(200 if ok else 503, "application/json", body)
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("metrics: " + format, *args)

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    """listen = "[::1]:9464": an IPv6 literal needs an AF_INET6 socket."""

    address_family = socket.AF_INET6


class MetricsServer:
    """/metrics and /healthz on host:port, in a daemon thread; `close` stops it."""

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        check: Callable[[], tuple[bool, dict[str, object]]],
    ) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self.server = server_class((host, int(port)), _handler(metrics, check))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="metrics", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
