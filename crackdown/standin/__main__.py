"""``python -m crackdown.standin``: run the Bot API stand-in in the foreground until Ctrl-C.

Handy for manual demos: point the bot at the printed base_url, then inject user messages with
``curl 'http://127.0.0.1:PORT/_sim/send_text?user_id=1001&text=/start'``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from types import FrameType

from crackdown.standin.server import BotApiStandIn


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve, and stop cleanly on Ctrl-C."""
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    standin = BotApiStandIn(args.token, port=args.port, bot_username=args.bot_username)
    for user_id in args.user or [1001]:
        standin.add_user(user_id)
    # Also stop cleanly on SIGTERM, and on SIGINT even if a parent shell ignored it.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with standin:
        print(standin.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
