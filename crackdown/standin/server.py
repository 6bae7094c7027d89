"""HTTP layer of the Bot API stand-in and its public facade ``BotApiStandIn``.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread, so it keeps answering while
the caller's asyncio loop is busy, and a long-polling getUpdates never blocks sendMessage.
Every API call goes through ``BotApiStandIn._dispatch`` -> ``methods.handle``.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crackdown.standin import manual, methods
from crackdown.standin.faults import Faults
from crackdown.standin.limits import FloodControl, FloodLimits
from crackdown.standin.state import JSON, SentMessage, SimUser, TelegramState

__all__ = ["BotApiStandIn"]

logger = logging.getLogger("crackdown.standin")

_API_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)/?")
_LOOPBACK = ("127.0.0.1", "localhost")


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Form (what PTB sends), JSON (curl users) or multipart bodies -> flat parameter dict."""
    if not body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return data
    if kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        return {
            part.get_param("name", header="content-disposition"): part.get_payload(
                decode=True
            ).decode("utf-8", "replace")
            for part in message.iter_parts()
        }
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _body(payload: JSON | str, *, readable: bool) -> tuple[bytes, str]:
    """The response bytes and type; the manual routes keep Chinese readable in a terminal."""
    if isinstance(payload, str):
        return payload.encode("utf-8", "replace"), "text/plain; charset=utf-8"
    if readable:
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: escaped, below
            text = json.dumps(payload, ensure_ascii=False) + "\n"  # a line of its own
            return text.encode(), "application/json"
    return json.dumps(payload).encode(), "application/json"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to every
    # keep-alive request, which would make a 10,000-message load test take minutes.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        # http.server reads the request line as Latin-1; curl sends a pasted 你好 as raw UTF-8.
        url = urlsplit(self.path.encode("latin-1", "replace").decode("utf-8", "replace"))
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            params.update(_parse_body(self.headers.get("Content-Type", ""), body))
        except (ValueError, UnicodeDecodeError):
            status, payload = (
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: can't parse request body",
                },
            )
        else:
            status, payload = self.server.standin._dispatch(url.path, params)
        data, content_type = _body(payload, readable=url.path.startswith("/_sim/"))
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # client gave up (e.g. PTB cancelled a long poll)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], standin: BotApiStandIn) -> None:
        super().__init__(address, _Handler)
        self.standin = standin
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (a killed bot) is normal here, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)

    def close_connections(self) -> None:
        """End idle keep-alive connections so no handler thread or socket outlives stop()."""
        with self._lock:
            items = list(self._connections.items())
        for conn, _ in items:
            with contextlib.suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in items:
            thread.join(timeout=2)


class BotApiStandIn:
    """A fake api.telegram.org for the real python-telegram-bot client; see module docs."""

    def __init__(
        self,
        token: str = "123456:STANDIN",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "crackdown_bot",
        bot_id: int = 123456,
    ) -> None:
        if host not in _LOOPBACK:
            raise ValueError("the stand-in only ever binds to 127.0.0.1")
        self.token = token
        self._address = ("127.0.0.1", port)
        self.state = TelegramState(bot_id, bot_username)
        self.request_log: list[tuple[str, float]] = []  # (method, time.time()) per API call
        self.flood_control: FloodControl | None = None  # set by enforce_limits()
        self.faults: Faults | None = None  # set by inject_faults()
        self._counts_lock = threading.Lock()
        self._requests = 0
        self._rate_limited = 0
        self._injected_before = 0  # by Faults that a later inject_faults() replaced
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> BotApiStandIn:
        """Bind (port 0 = any free port) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("stand-in already started")
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="standin-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("Bot API stand-in listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Wake long polls, stop serving, close connections. Safe to call twice."""
        self.state.close()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BotApiStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only known after start())."""
        if self._server is None:
            raise RuntimeError("stand-in is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Pass to PTB as ``base_url``; PTB appends ``{token}/{method}``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- dispatch ------------------------------------------------------------------------------
    def _dispatch(self, path: str, params: dict[str, Any]) -> tuple[int, JSON | str]:
        """The single entry point for every HTTP request."""
        if path.startswith("/_sim/"):
            return self._simulate(path, params)
        match = _API_PATH.fullmatch(path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = match.groups()
        self.request_log.append((method, time.time()))
        with self._counts_lock:
            self._requests += 1
        if token != self.token:
            status, payload = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        else:
            try:
                status, payload = methods.handle(self.state, method, methods.Params(params))
            except Exception as err:  # a stand-in bug must surface as a response, not a hang
                logger.exception("stand-in failed on %s", method)
                status, payload = (
                    500,
                    {
                        "ok": False,
                        "error_code": 500,
                        "description": f"Internal Server Error: {err!r}",
                    },
                )
        if status == 429:
            with self._counts_lock:
                self._rate_limited += 1
        logger.info(
            "%s -> %s%s", method, status, "" if status == 200 else f" {payload.get('description')}"
        )
        return status, payload

    def _simulate(self, path: str, params: dict[str, Any]) -> tuple[int, JSON | str]:
        """The manual routes (/_sim/...): see ``manual.py`` or GET /_sim/."""
        try:
            return manual.handle(self, path, params)
        except Exception as err:  # a stand-in bug must surface as a response, not a hang
            logger.exception("stand-in failed on %s", path)
            return 500, {"ok": False, "error_code": 500, "description": f"Internal error: {err!r}"}

    # -- simulated world -----------------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        first_name: str = "Demo",
        language_code: str = "en",
        username: str | None = None,
    ) -> SimUser:
        """Register a user who can talk to the bot (their private chat id == user_id)."""
        return self.state.add_user(SimUser(user_id, first_name, language_code, username))

    def add_users(self, user_ids: Iterable[int], first_name: str = "Demo") -> None:
        """Register many users at once (cheap enough for 10,000)."""
        self.state.add_users(SimUser(user_id, first_name) for user_id in user_ids)

    def add_group(
        self,
        chat_id: int,
        title: str,
        chat_type: str = "group",
        admin_ids: Iterable[int] = (),
        member_ids: Iterable[int] | None = None,
    ) -> None:
        """Register a group/supergroup/channel (negative id); first admin is the creator.

        ``member_ids``: only admins and these users are in it; by default anyone known is.
        """
        self.state.add_group(chat_id, title, chat_type, admin_ids, member_ids)

    def set_language(self, user_id: int, language_code: str) -> SimUser:
        """The user switches their Telegram language (``zh``, ``zh-hans``, ``en``...)."""
        return self.state.set_language(user_id, language_code)

    def send_text(
        self, user_id: int, text: str, chat_id: int | None = None, forwarded_from: int | None = None
    ) -> int:
        """Queue a message from a user (private chat by default); returns its update_id.

        ``forwarded_from``: the message is a forward of what that user wrote.
        """
        return self.state.send_text(user_id, text, chat_id, forwarded_from)

    def edit_text(
        self, user_id: int, text: str, chat_id: int | None = None, message_id: int | None = None
    ) -> int:
        """Queue an edited_message: the user changed a message (default: their latest)."""
        return self.state.edit_text(user_id, text, chat_id, message_id)

    def press_button(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        """Queue a callback_query for an inline button of a bot message; returns update_id."""
        return self.state.press_button(user_id, chat_id, message_id, data)

    def block(self, user_id: int) -> None:
        """The user blocks the bot: later sends to them fail with 403."""
        self.state.set_blocked(user_id, True)

    def unblock(self, user_id: int) -> None:
        """The user restarts the bot (also implied by the user sending a message)."""
        self.state.set_blocked(user_id, False)

    def migrate_group(self, old_id: int, new_id: int) -> None:
        """Upgrade basic group ``old_id`` to supergroup ``new_id`` (same title and admins).

        Posts to the old id then fail with 400 + migrate_to_chat_id, which PTB raises as
        telegram.error.ChatMigrated.
        """
        self.state.migrate_group(old_id, new_id)

    def deactivate_user(self, user_id: int) -> None:
        """The user deletes their account: posts to them fail with 403 "user is deactivated"."""
        self.state.deactivate_user(user_id)

    def kick_bot(self, group_id: int) -> None:
        """The group removes the bot: posts there fail with 403 "bot was kicked ..."."""
        self.state.kick_bot(group_id)

    def restrict_bot(self, group_id: int, restricted: bool = True) -> None:
        """The group's admins take the bot's right to post (400 "not enough rights"), or
        (``restricted=False``) give it back."""
        self.state.restrict_bot(group_id, restricted)

    # -- flood limits and faults ---------------------------------------------------------------
    def enforce_limits(
        self, limits: FloodLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> FloodControl:
        """Answer 429 like Telegram's flood control (default: its published rates).

        Replaces an earlier FloodControl and runs before any other interceptor, so requests
        that then get an injected fault still used up flood budget, as on the real server.
        """
        control = FloodControl(limits, clock=clock)
        with self.state.cond:
            interceptors = [f for f in self.state.interceptors if f is not self.flood_control]
            self.state.interceptors = [control, *interceptors]
            self.flood_control = control
        return control

    def inject_faults(self, **options: Any) -> Faults:
        """Install ``Faults(**options)`` (replacing earlier ones); use it for ``fail_next``."""
        faults = Faults(**options)
        with self.state.cond:
            interceptors = [f for f in self.state.interceptors if f is not self.faults]
            if self.faults is not None:
                self._injected_before += self.faults.injected
            self.state.interceptors = [*interceptors, faults]
            self.faults = faults
        return faults

    def summary(self) -> JSON:
        """Totals a load test checks: sends, distinct chats, duplicates, 429s, faults.

        Kept as running counters, so it costs the same after 10,000 messages as after one.
        """
        with self.state.cond:
            stats = self.state.stats
            sends = {
                "messages": stats.messages,
                "chats": len(stats.chats),
                "duplicates": stats.duplicates,
                "first_at": stats.first_at,
                "last_at": stats.last_at,
            }
            injected = self._injected_before + (self.faults.injected if self.faults else 0)
        with self._counts_lock:
            return {
                **sends,
                "rate_limited": self._rate_limited,
                "injected": injected,
                "requests": self._requests,
            }

    # -- inspection ----------------------------------------------------------------------------
    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Everything the bot successfully sent or edited, in order."""
        return self.state.sent_messages(chat_id)

    def wait_for_messages(
        self, count: int, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Block until at least ``count`` are recorded (TimeoutError otherwise).

        Blocks the calling thread; from a coroutine use ``asyncio.to_thread`` so the bot's
        event loop can keep sending.
        """
        return self.state.wait_for_messages(count, chat_id, timeout)

    def pending_updates(self) -> int:
        """Updates the bot has not yet confirmed with a getUpdates offset."""
        return self.state.pending_updates()

    @property
    def commands(self) -> dict[tuple[str, str], list[JSON]]:
        """setMyCommands store keyed by (canonical scope JSON, language_code or "")."""
        with self.state.cond:
            return {key: list(value) for key, value in self.state.commands.items()}

    @property
    def callback_answers(self) -> list[JSON]:
        """answerCallbackQuery calls received, in order."""
        with self.state.cond:
            return list(self.state.callback_answers)
