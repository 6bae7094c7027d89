"""``python -m crackdown.standin``: run the Bot API stand-in in the foreground until Ctrl-C.

Handy for manual demos and load tests: point the bot at the printed base_url (always the first
line on stdout), then play the users with curl on the manual routes:
``/_sim/send_text?user_id=1001&text=/start&wait=10&format=text`` (the bot's replies),
``/_sim/set_language``, ``/_sim/add_group``, ``/_sim/press_button``, ``/_sim/sent`` and
``/_sim/summary``; ``curl http://127.0.0.1:PORT/_sim/`` lists them with their parameters.
README.md, "Trying the bot without Telegram", walks through a session.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from types import FrameType

from crackdown.standin.limits import FloodLimits
from crackdown.standin.server import BotApiStandIn


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _user_range(text: str) -> range:
    """``A:B`` -> user ids A..B inclusive."""
    try:
        first, last = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B with integers, got {text!r}") from None
    if not 0 < first <= last:
        raise argparse.ArgumentTypeError(f"expected 0 < A <= B, got {text!r}")
    return range(first, last + 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crackdown.standin", description=__doc__)
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default="123456:STANDIN")
    parser.add_argument("--bot-username", default="crackdown_bot")
    parser.add_argument(
        "--user",
        type=int,
        action="append",
        default=[],
        help="pre-register a user id (repeatable); default: 1001",
    )
    parser.add_argument(
        "--users",
        type=_user_range,
        action="append",
        default=[],
        metavar="A:B",
        help="pre-register user ids A..B inclusive (repeatable, adds to --user)",
    )
    limits = parser.add_argument_group("flood limits")
    limits.add_argument(
        "--limits",
        type=float,
        default=0.0,
        metavar="SCALE",
        help="enforce Telegram's flood limits, rates multiplied by SCALE (0 = off, default)",
    )
    limits.add_argument(
        "--penalty",
        type=float,
        default=FloodLimits.penalty,
        metavar="SECONDS",
        help="minimum retry_after once a limit is hit (with --limits; default %(default)s)",
    )
    faults = parser.add_argument_group("fault injection (posting methods only)")
    faults.add_argument("--error-rate", type=float, default=0.0, metavar="F", help="5xx share")
    faults.add_argument(
        "--timeout-rate", type=float, default=0.0, metavar="F", help="hang-then-504 share"
    )
    faults.add_argument("--timeout-seconds", type=float, default=1.0, metavar="S")
    faults.add_argument("--seed", type=int, default=0, metavar="N", help="fault random seed")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve, and stop cleanly on Ctrl-C."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.limits < 0:
        parser.error("--limits must be >= 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    standin = BotApiStandIn(args.token, port=args.port, bot_username=args.bot_username)
    for user_id in args.user:
        standin.add_user(user_id)
    for user_ids in args.users:
        standin.add_users(user_ids)
    if not (args.user or args.users):
        standin.add_user(1001)
    try:
        if args.limits > 0:
            standin.enforce_limits(FloodLimits(penalty=args.penalty).scaled(args.limits))
        if args.error_rate or args.timeout_rate:
            standin.inject_faults(
                error_rate=args.error_rate,
                timeout_rate=args.timeout_rate,
                timeout_seconds=args.timeout_seconds,
                seed=args.seed,
            )
    except ValueError as err:
        parser.error(str(err))
    # Also stop cleanly on SIGTERM, and on SIGINT even if a parent shell ignored it.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with standin:
        print(standin.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
