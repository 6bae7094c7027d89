# PYTHON_ARGCOMPLETE_OK (argcomplete looks for this marker in the entry point's module)
"""The `crackdown` command line. Config is loaded here, once, and passed down."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import argcomplete
from sqlalchemy.exc import SQLAlchemyError

from crackdown import exitcodes
from crackdown.config import Config, ConfigError, load_config, resolve_path
from crackdown.exitcodes import CommandError
from crackdown.logs import setup_logging
from crackdown.runtime.lock import AlreadyRunning, InstanceLock

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger("crackdown")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _version() -> str:
    try:
        return metadata.version("crackdown")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _global_options(*, top: bool) -> argparse.ArgumentParser:
    """--config and --log-level, accepted before and after the command.

    Why two copies: argparse reads options only at the level they are declared.
    The copy under each command defaults to SUPPRESS, so a value given before
    the command is not reset by the command's parser.
    """
    options = argparse.ArgumentParser(add_help=False)
    default = None if top else argparse.SUPPRESS
    options.add_argument("--config", metavar="PATH", default=default, help="config file (TOML)")
    options.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        default=default,
        help="override logging.level: debug, info, warning or error",
    )
    return options


class _Parser(argparse.ArgumentParser):
    """Every command and action parser also takes the global options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parents", [_global_options(top=False)])
        super().__init__(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crackdown",
        description="News monitor and Telegram alert bot for crypto enforcement in China.",
        epilog="Config: --config PATH, else $CRACKDOWN_CONFIG, else ./config.toml. "
        "The bot token comes from $CRACKDOWN_TELEGRAM_TOKEN or telegram.token_file. "
        "Exit status: 0 ok, 1 failure or nothing found, 2 usage or config error, "
        "3 some sources failed (poll, crawl).",
        parents=[_global_options(top=True)],
    )
    parser.add_argument("--version", action="version", version=f"crackdown {_version()}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

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
    catalog = sources_commands.add_parser(
        "catalog", help="list the catalogue of vetted sources (key, kind, lang, region, name, url)"
    )
    catalog.add_argument("--json", action="store_true", help="every field, as one JSON array")
    add = sources_commands.add_parser(
        "add", help="append catalogue sources to the config (comments kept, validated first)"
    )
    add.add_argument("keys", nargs="+", metavar="KEY", help="catalogue keys (sources catalog)")
    check = sources_commands.add_parser(
        "check",
        help="fetch each source once: items found, newest date, parse problems (nothing stored)",
        description="Fetch each configured source (or the named ones: configured, else from "
        "the catalogue) once and print the items found, how many are dated, the newest date "
        "and what could not be read. Stores nothing. Exit status 1 if any source had problems.",
    )
    check.add_argument("keys", nargs="*", metavar="KEY", help="sources to check (default: all)")
    check.add_argument(
        "--catalog", action="store_true", help="check every catalogue entry, configured or not"
    )

    init = commands.add_parser(
        "init",
        help="write a starting config.toml: the catalogue's recommended sources, every key "
        "documented",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    poll = commands.add_parser(
        "poll", help="poll due feed and JSON sources now and store what they have (no sending)"
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
        "(stories of one event share a fold; see crackdown/commands/folds.py)",
    )
    evaluation.add_argument(
        "--folds", type=int, default=4, metavar="K", help="folds for --split (default 4)"
    )
    evaluation.add_argument("--json", action="store_true", help="print one JSON object")
    evaluation.add_argument(
        "--learned",
        action="store_true",
        help="experiment: also score a logistic layer over the rule's evidence, trained on "
        "--train (see crackdown/commands/learned.py); the filter's decisions are unchanged",
    )
    evaluation.add_argument(
        "--train",
        type=Path,
        nargs="+",
        metavar="FILE.jsonl",
        help="training corpora for --learned (default: ../shared/corpus/dev*.jsonl and "
        "tests/data/probes_*.jsonl; stories also in CORPUS are left out)",
    )

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description='Bash: eval "$(crackdown completion bash)" in ~/.bashrc; zsh: the same in '
        "~/.zshrc; fish: crackdown completion fish | source.",
    )
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])
    return parser


def _config(args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    return load_config(resolve_path(args.config, environ), environ)


def _cmd_demo(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.console.terminal import use_color
    from crackdown.demo.runner import default_db_path, run_demo

    setup_logging(args.log_level or "WARNING")
    path = args.db or default_db_path(dict(environ))
    return run_demo(path, sys.stdout, fresh=args.fresh, color=use_color(sys.stdout, environ))


def _cmd_run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app, require_token
    from crackdown.daemon import run_forever, run_once
    from crackdown.storage_open import check_storage

    path = resolve_path(args.config, environ)
    config = load_config(path, environ)
    setup_logging(
        args.log_level or config.logging.level, [config.bot_token() or ""], config.logging.format
    )
    if not args.once:
        require_token(config)  # before anything is created: no token, no database
    check_storage(config.storage.url)
    lock = InstanceLock(config.storage.url)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"crackdown: {exc}", file=sys.stderr)
        return 1
    app = open_app(config)
    try:
        if lock.held:  # the only daemon on this database: the leases left are a dead run's
            _take_back_leases(app.db)
        if args.once:
            report = asyncio.run(run_once(app))
            print(report.summary())
            if report.telegram_error is not None:
                print(
                    f"crackdown: {report.telegram_error}; stories are stored "
                    "and alerts stay queued for the next run",
                    file=sys.stderr,
                )
                return 1
            return 0
        asyncio.run(run_forever(app, lambda: load_config(path, environ)))
        return 0
    finally:
        app.db.dispose()
        lock.release()


def _take_back_leases(db: Database) -> None:
    """Queue again at once the alerts a killed run left in flight, not after their lease."""
    from storage import outbox

    with db.session() as session:
        taken = outbox.take_back_leases(session, datetime.now(UTC))
    if taken:
        log.warning("%d alerts were in flight when the last run stopped: sending them again", taken)


def _cmd_db(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.storage_open import open_database
    from storage.migrate import current_revision

    config = _config(args, environ)
    setup_logging(args.log_level or config.logging.level)
    db = open_database(config.storage.url)
    try:
        print(f"database at revision {current_revision(db.engine)}")
    finally:
        db.dispose()
    return 0


def _cmd_sources(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.sources_command == "import":
        return _cmd_sources_import(args, environ)
    if args.sources_command in ("catalog", "add", "check"):
        return _cmd_sources_catalog(args, environ)
    if args.sources_command == "export":
        from crackdown.commands.opml import render_opml

        print(render_opml(_config(args, environ).sources), end="")
        return 0
    from crackdown.app import open_app
    from crackdown.console.tables import sources_table
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
    from crackdown.app import App, load_veto, load_watchlist
    from crackdown.commands.filtering import run_match

    config = _optional_config(args, environ)
    setup_logging(args.log_level or "WARNING")
    _watchlist, matcher = load_watchlist(config)
    return run_match(
        matcher,
        veto=load_veto(config, matcher),
        text=args.text,
        file=args.file,
        url=args.url,
        policy=App.http_policy(config),
        as_json=args.json,
        topic=config.telegram.default_topic,
    )


def _cmd_eval(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import load_veto, load_watchlist
    from crackdown.commands.filtering import run_eval

    config = _optional_config(args, environ)
    setup_logging(args.log_level or "WARNING")
    _watchlist, matcher = load_watchlist(config)
    if args.learned:
        from crackdown.commands.evaluate import CorpusError
        from crackdown.commands.learned import run_learned

        topic = config.telegram.default_topic
        try:
            print(run_learned(matcher, topic, args.corpus, train_files=args.train, explain=6))
        except CorpusError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from exc
        return 0
    veto = load_veto(config, matcher)
    return run_eval(
        config, matcher, args.corpus, args.json, split=args.split, folds=args.folds, veto=veto
    )


def _cmd_sources_import(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.commands.opml import import_into_config
    from crackdown.config import parse_duration

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


def _cmd_sources_catalog(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`sources catalog`, `sources add` and `sources check`: the catalogue's commands."""
    from crackdown.commands.catalog import (
        add_to_config,
        catalog_json,
        catalog_table,
        load_catalog,
        pick,
    )

    entries = load_catalog()
    if args.sources_command == "catalog":
        print(catalog_json(entries) if args.json else catalog_table(entries))
        return 0
    if args.sources_command == "add":
        path = resolve_path(args.config, environ)
        plan = add_to_config(path, pick(entries, args.keys), environ)
        for entry in plan.added:
            note = "  (needs crackdown[browser] and chromium)" if entry.needs == "browser" else ""
            print(f"added    {entry.key:<26} {entry.kind:<6} {entry.url}{note}")
        for entry in plan.skipped:
            print(f"skipped  {entry.key:<26} (already configured)")
        print(f"{len(plan.added)} added, {len(plan.skipped)} skipped; config: {path}")
        return 0
    from crackdown.app import App
    from crackdown.commands.sources_check import check_sources, print_check

    config = _optional_config(args, environ)
    setup_logging(args.log_level or "ERROR", [config.bot_token() or ""])
    configured = {s.key: s for s in config.sources}
    if args.catalog:
        chosen = [e.config() for e in entries]
    elif args.keys:
        by_key = {e.key: e for e in entries}
        unknown = [k for k in args.keys if k not in configured and k not in by_key]
        if unknown:
            raise ConfigError(f"no source or catalogue entry {unknown[0]!r}")
        chosen = [configured[k] if k in configured else by_key[k].config() for k in args.keys]
    else:
        chosen = [s for s in config.sources if s.enabled]
    if not chosen:
        print("no sources to check (configure some, or name catalogue keys, or --catalog)")
        return 0
    results = asyncio.run(check_sources(config, chosen, App.http_policy(config)))
    return print_check(results, sys.stdout)


def _cmd_init(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.commands.init import write_starting_config

    path = resolve_path(args.config, environ)
    enabled = write_starting_config(path, force=args.force)
    print(
        f"wrote {path}: {enabled} sources from the catalogue. Verify them with "
        "`crackdown sources check`; add more with `crackdown sources add KEY...`."
    )
    return 0


def _cmd_poll(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.commands.poll import poll_command

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING", [config.bot_token() or ""])
    app = open_app(config)
    try:
        return asyncio.run(poll_command(app, keys=args.source, everything=args.all, out=sys.stdout))
    finally:
        app.db.dispose()


def _cmd_crawl(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.commands.crawl import crawl_command
    from crackdown.runtime.crawling import default_cache_dir

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING", [config.bot_token() or ""])
    cache_dir = None
    if args.cache:
        cache_dir = config.crawl.cache_dir or default_cache_dir(environ)
    app = open_app(config)
    try:
        return asyncio.run(
            crawl_command(
                app,
                keys=args.source,
                everything=args.all,
                cache_dir=cache_dir,
                out=sys.stdout,
                err=sys.stderr,
            )
        )
    finally:
        app.db.dispose()


def _cmd_status(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.commands.status import status_command

    config = _config(args, environ)
    setup_logging(args.log_level or "WARNING")
    app = open_app(config, read_only=True)  # a read-only database is reported, not refused
    try:
        print(status_command(app, chat_id=args.chat, limit=args.limit, as_json=args.json))
    finally:
        app.db.dispose()
    return 0


def _cmd_search(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from crackdown.app import open_app
    from crackdown.commands.search import search_command

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
    from crackdown.commands.export import export_command

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


def _cmd_completion(args: argparse.Namespace, _environ: Mapping[str, str]) -> int:
    print(argcomplete.shellcode(["crackdown"], shell=args.shell), end="")
    return exitcodes.OK


COMMANDS = {
    "completion": _cmd_completion,
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
    "init": _cmd_init,
}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point; errors a user can fix are one line and a status from crackdown.exitcodes."""
    parser = _parser()
    argcomplete.autocomplete(parser)  # returns at once unless a shell asks for completions
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    # Opt in to PTB's future RetryAfter.retry_after (a timedelta) instead of a
    # deprecation warning on every 429; bot.delivery handles both types.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        status = COMMANDS[args.command](args, env)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        return status
    except ConfigError as exc:
        print(f"crackdown: config error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except CommandError as exc:
        print(f"crackdown: {exc}", file=sys.stderr)
        return exc.status
    except SQLAlchemyError as exc:
        print(
            f"crackdown: database error: {type(exc).__name__}: {exc}".splitlines()[0],
            file=sys.stderr,
        )
        return exitcodes.FAILURE
    except BrokenPipeError:
        _quiet_stdout()
        return exitcodes.BROKEN_PIPE
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED


def _quiet_stdout() -> None:
    """The reader of our stdout went away (`| head -1`): drop what is still buffered.

    Python would otherwise try to flush stdout at exit, fail again and print a
    traceback. As the Python documentation advises for SIGPIPE.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests): nothing buffered to drop
        pass


if __name__ == "__main__":
    sys.exit(main())
