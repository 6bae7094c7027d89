"""A gateway in front of the Bot API stand-in that can start answering HTML instead of JSON.

What sits between a bot and Telegram in the field: a reverse proxy whose
upstream is down (nginx's 502 page), a captive portal or a corporate proxy
answering its own page with 200. PTB cannot parse either.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES = {
    "html502": (
        502,
        b"<html><head><title>502 Bad Gateway</title></head><body><center>"
        b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
    ),
    "html200": (200, b"<html><body><h1>Welcome to the hotel network</h1></body></html>"),
}


class Gateway:
    """Forwards to `target` while `mode` is "pass" (or "flatten": every answer as 200, as
    Bot API relays often do); otherwise answers that mode's HTML page."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.mode = "pass"
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return

            def do_GET(self) -> None:
                gateway.answer(self)

            def do_POST(self) -> None:
                gateway.answer(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda *_: None  # type: ignore[method-assign]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def __enter__(self) -> Gateway:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        if self.mode not in ("pass", "flatten"):
            status, page = PAGES[self.mode]
            self._reply(handler, status, "text/html", page)
            return
        request = urllib.request.Request(
            self.target + handler.path,
            data=body,
            method=handler.command,
            headers={"Content-Type": handler.headers.get("Content-Type", "")},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        if self.mode == "flatten":
            status = 200
        self._reply(handler, status, "application/json", data)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, kind: str, data: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
