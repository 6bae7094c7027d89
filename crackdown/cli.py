"""The `crackdown` command line. Config is loaded here, once, and passed down."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from crackdown.config import Config, ConfigError, load_config, resolve_path
from crackdown.lock import AlreadyRunning, InstanceLock
from crackdown.logs import setup_logging

log = logging.getLogger("crackdown")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crackdown",
        description="News monitor and Telegram alert bot for crypto enforcement in China.",
        epilog="Config: --config PATH, else $CRACKDOWN_CONFIG, else ./config.toml. "
        "The bot token comes from $CRACKDOWN_TELEGRAM_TOKEN or telegram.token_file.",
    )
    parser.add_argument("--config", metavar="PATH", help="config file (TOML)")
    parser.add_argument(
        "--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="override logging.level"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run one offline cycle on bundled sample feeds")
    demo.add_argument(
        "--db", metavar="PATH", type=Path, help="demo database (default: %(default)s)"
    )
    demo.add_argument("--fresh", action="store_true", help="delete the demo database first")

    run = commands.add_parser(
        "run", help="run the daemon (poll feeds, crawl spiders, match, deliver, serve commands)"
    )
    run.add_argument("--once", action="store_true", help="one full cycle, then exit")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="apply migrations (also done at every start)")

    sources = commands.add_parser("sources", help="show configured sources and their health")
    sources_commands = sources.add_subparsers(dest="sources_command", metavar="ACTION")
    opml_in = sources_commands.add_parser(
        "import", help="add the feeds of an OPML file to the config"
    )
    opml_in.add_argument("opml", type=Path, metavar="FILE.opml")
    opml_in.add_argument(
        "--interval", default="10m", help="poll interval for imported feeds (%(default)s)"
    )
    sources_commands.add_parser("export", help="print the configured feeds as OPML")

    poll = commands.add_parser(
        "poll", help="poll due feed sources now and store what they have (no sending)"
    )
    which = poll.add_mutually_exclusive_group()
    which.add_argument(
        "--source", metavar="KEY", action="append", help="poll this source (repeatable)"
    )
    which.add_argument(
        "--all", action="store_true", help="every enabled source, whatever its schedule"
    )

    crawl = commands.add_parser(
        "crawl",
        help='crawl due spider sources (kind = "spider") now, showing each page; '
        "store and queue what they find (no sending)",
        description="Crawl spider sources with Scrapy, one child process per batch. Prints a "
        "line per page read, per error, and per source (items, new stories, matches, alerts "
        "queued, next crawl). Stories go through the same pipeline as feed stories.",
    )
    crawl_which = crawl.add_mutually_exclusive_group()
    crawl_which.add_argument(
        "--source", metavar="KEY", action="append", help="crawl this source (repeatable)"
    )
    crawl_which.add_argument(
        "--all", action="store_true", help="every enabled spider source, whatever its schedule"
    )
    crawl.add_argument(
        "--cache",
        action="store_true",
        help="development: keep every response in Scrapy's HTTP cache and replay it on the "
        "next --cache run (crawl.cache_dir, default $XDG_CACHE_HOME/crackdown/httpcache)",
    )

    status = commands.add_parser(
        "status", help="delivery counters, chats and source health; --chat for one chat's ledger"
    )
    status.add_argument("--chat", type=int, metavar="CHAT_ID", help="show this chat's deliveries")
    status.add_argument("--limit", type=int, default=20, help="ledger lines (default 20)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    find = commands.add_parser(
        "search", help="search stored stories with the filter's query syntax, best first"
    )
    find.add_argument(
        "query", metavar="QUERY", help="e.g. 'binance AND (OTC OR \"P2P\") AND NOT price'"
    )
    find.add_argument("--since", metavar="WHEN", help="a date (2026-01-31) or an age (7d, 12h)")
    find.add_argument("--limit", type=int, default=20, help="stories to show (default 20)")
    find.add_argument(
        "--matched", action="store_true", help="only stories the filter matched (as /search)"
    )
    find.add_argument("--json", action="store_true", help="print one JSON array")
    export = commands.add_parser(
        "export", help="matched stories with entities, topics, cluster and sources, as CSV or JSONL"
    )
    export.add_argument(
        "--since", required=True, metavar="WHEN", help="a date (2026-01-31) or an age (30d)"
    )
    export.add_argument("--until", metavar="WHEN", help="published before this (default: now)")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write here instead of stdout"
    )
    match = commands.add_parser("match", help="run the filter on one text, file or web page")
    given = match.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", metavar="T", help="text to match")
    given.add_argument("--file", metavar="F", type=Path, help="UTF-8 file to match")
    given.add_argument("--url", metavar="U", help="web page to fetch, extract and match")
    match.add_argument("--json", action="store_true", help="print the full result as JSON")

    evaluation = commands.add_parser(
        "eval", help="precision, recall and F1 of the default topic on a labelled JSONL corpus"
    )
    evaluation.add_argument("corpus", type=Path, nargs="+", metavar="CORPUS.jsonl")
    evaluation.add_argument(
        "--split",
        choices=("all", "tune", "held-out"),
        default="all",
        help="score every story, or only the tuning folds, or only the held-out fold "
        "(stories of one event share a fold; see crackdown/folds.py)",
    )
    evaluation.add_argument(
        "--folds", type=int, default=4, metavar="K", help="folds for --split (default 4)"
    )
    evaluation.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _config(args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    return load_config(resolve_path(args.config, environ), environ)


def _cmd_demo(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.demo.runner import default_db_path, run_demo

    setup_logging(args.log_level or "WARNING")
    path = args.db or default_db_path(dict(environ))
    return run_demo(path, sys.stdout, fresh=args.fresh, color=sys.stdout.isatty())


def _cmd_run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.daemon import run_forever, run_once

    path = resolve_path(args.config, environ)
    config = load_config(path, environ)
    setup_logging(
        args.log_level or config.logging.level, [config.bot_token() or ""], config.logging.format
    )
    lock = InstanceLock(config.storage.url)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"crackdown: {exc}", file=sys.stderr)
        return 1
    app = open_app(config)
    try:
        if args.once:
            report = asyncio.run(run_once(app))
            print(report.summary())
            return 0
        app.require_token()
        asyncio.run(run_forever(app, lambda: load_config(path, environ)))
        return 0
    finally:
        app.db.dispose()
        lock.release()


def _cmd_db(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from storage.db import Database
    from storage.migrate import current_revision

    config = _config(args, environ)
    setup_logging(args.log_level or config.logging.level)
    db = Database(config.storage.url)
    try:
        db.upgrade()
        print(f"database at revision {current_revision(db.engine)}")
    finally:
        db.dispose()
    return 0


def _cmd_sources(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.sources_command == "import":
        return _cmd_sources_import(args, environ)
    if args.sources_command == "export":
        from crackdown.opml import render_opml

        print(render_opml(_config(args, environ).sources), end="")
        return 0
    from crackdown.app import open_app
    from crackdown.tables import sources_table
    from storage.sources import list_sources

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING")
    app = open_app(config)
    try:
        with app.db.session() as session:
            records = list_sources(session)
    finally:
        app.db.dispose()
    configured = {s.key for s in config.sources}
    print(sources_table([r for r in records if r.key in configured]))
    return 0


def _optional_config(args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    """Commands that need no database run on defaults when no config file exists."""
    explicit = bool(args.config or environ.get("CRACKDOWN_CONFIG"))
    return load_config(resolve_path(args.config, environ), environ, required=explicit)


def _cmd_match(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import App, load_watchlist
    from crackdown.filtercmd import run_match

    config = _optional_config(args, environ)
    setup_logging(args.log_level or "WARNING")
    _watchlist, matcher = load_watchlist(config)
    return run_match(
        matcher,
        text=args.text,
        file=args.file,
        url=args.url,
        policy=App.http_policy(config),
        as_json=args.json,
    )


def _cmd_eval(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import load_watchlist
    from crackdown.filtercmd import run_eval

    config = _optional_config(args, environ)
    setup_logging(args.log_level or "WARNING")
    _watchlist, matcher = load_watchlist(config)
    return run_eval(config, matcher, args.corpus, args.json, split=args.split, folds=args.folds)


def _cmd_sources_import(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.config import parse_duration
    from crackdown.opml import import_into_config

    try:
        parse_duration(args.interval)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from exc
    path = resolve_path(args.config, environ)
    plan = import_into_config(path, args.opml, args.interval, environ)
    for key, url in plan.added:
        print(f"added    {key:<30} {url}")
    for url in plan.skipped:
        print(f"skipped  {'(already configured)':<30} {url}")
    print(f"{len(plan.added)} added, {len(plan.skipped)} skipped; config: {path}")
    return 0


def _cmd_poll(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.polling import poll_command

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING", [config.bot_token() or ""])
    app = open_app(config)
    try:
        return asyncio.run(poll_command(app, keys=args.source, everything=args.all, out=sys.stdout))
    finally:
        app.db.dispose()


def _cmd_crawl(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.crawling import crawl_command, default_cache_dir

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING", [config.bot_token() or ""])
    cache_dir = None
    if args.cache:
        cache_dir = config.crawl.cache_dir or default_cache_dir(environ)
    app = open_app(config)
    try:
        return asyncio.run(
            crawl_command(
                app, keys=args.source, everything=args.all, cache_dir=cache_dir, out=sys.stdout
            )
        )
    finally:
        app.db.dispose()


def _cmd_status(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.status import status_command

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING")
    app = open_app(config)
    try:
        print(status_command(app, chat_id=args.chat, limit=args.limit, as_json=args.json))
    finally:
        app.db.dispose()
    return 0


def _cmd_search(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.searchcmd import search_command

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING")
    app = open_app(config)
    try:
        return search_command(
            app,
            args.query,
            since=args.since,
            limit=max(1, args.limit),
            matched_only=args.matched,
            as_json=args.json,
            out=sys.stdout,
            err=sys.stderr,
        )
    finally:
        app.db.dispose()


def _cmd_export(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.exportcmd import export_command

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING")
    app = open_app(config)
    try:
        if args.output is None:
            return export_command(
                app,
                since=args.since,
                until=args.until,
                fmt=args.format,
                out=sys.stdout,
                err=sys.stderr,
            )
        with args.output.open("w", encoding="utf-8", newline="") as out:
            return export_command(
                app, since=args.since, until=args.until, fmt=args.format, out=out, err=sys.stderr
            )
    finally:
        app.db.dispose()


COMMANDS = {
    "poll": _cmd_poll,
    "crawl": _cmd_crawl,
    "demo": _cmd_demo,
    "run": _cmd_run,
    "db": _cmd_db,
    "sources": _cmd_sources,
    "status": _cmd_status,
    "search": _cmd_search,
    "export": _cmd_export,
    "match": _cmd_match,
    "eval": _cmd_eval,
}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point; errors a user can fix are one line and a non-zero exit."""
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    # Opt in to PTB's future RetryAfter.retry_after (a timedelta) instead of a
    # deprecation warning on every 429; bot.delivery handles both types.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        return COMMANDS[args.command](args, env)
    except ConfigError as exc:
        print(f"crackdown: config error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"crackdown: database error: {type(exc).__name__}: {exc}".splitlines()[0],
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
