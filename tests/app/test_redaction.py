"""The bot token never reaches stderr, whichever way an error is reported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import TOKEN

SECRET_HALF = TOKEN.partition(":")[2]

# Each reporting path Python and our libraries have, with the token in the error.
SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, logging, sys, threading, warnings
    from crackdown.logs import setup_logging

    token = sys.argv[1]
    setup_logging("DEBUG", [token])
    log = logging.getLogger("test")
    try:
        raise RuntimeError(f"The token `{token}` was rejected by the server.")
    except RuntimeError:
        log.exception("logged with a traceback")
    log.info("url http://api/bot%s/getMe", token)
    log.info("quoted http://api/bot%s/getMe", token.replace(":", "%3A"))
    log.warning("stack", stack_info=True, extra={"t": token})

    def in_thread():
        raise RuntimeError(f"thread {token}")
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()

    class Finaliser:
        def __del__(self):
            raise RuntimeError(f"finaliser {token}")
    Finaliser()
    gc.collect()

    warnings.warn(f"warning {token}")

    async def main():
        async def task():
            raise RuntimeError(f"task {token}")
        asyncio.get_running_loop().create_task(task())
        await asyncio.sleep(0.05)
    asyncio.run(main())
    gc.collect()

    from telegram.error import InvalidToken
    raise InvalidToken(f"The token `{token}` was rejected by the server.")
    """
)


def test_every_error_path_redacts_the_token() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, TOKEN], capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    for reported in ("logged with a traceback", "thread", "finaliser", "warning", "task"):
        assert reported in output, reported
    assert "InvalidToken" in output  # the uncaught exception is still reported
    assert "[token]" in output
    assert TOKEN not in output, output
    assert SECRET_HALF not in output, output
