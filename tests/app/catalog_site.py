"""The catalogue's sources on loopback: one server per entry, its fixture folder behind it.

Each entry's URLs (url, urls, api.discover_url, api.detail_url) are
rewritten from `scheme://host` to its own server, paths kept, so the
links its pages carry (absolute paths, relative paths) resolve there too.
A request is answered with the file named by the last segment of its path
(`index.html` for a path ending in '/'), whatever the method and query;
every request is recorded with its method and body. A folder with a
`challenge.html` is behind a JavaScript challenge: every request without
the cookie its script sets gets that page instead (only a browser passes).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crackdown.commands.catalog import Entry

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "catalog"
_ORIGIN = re.compile(r"^https?://[^/]+")


def _content_type(body: bytes) -> str:
    head = body.lstrip()[:5]
    if head.startswith((b"{", b"[")):
        return "application/json; charset=utf-8"
    if head.startswith(b"<?xml"):
        return "application/xml; charset=utf-8"
    return "text/html; charset=utf-8"


class CatalogSite:
    """Serves every entry's fixtures; `rewrite` gives an entry's source pointed at them."""

    def __init__(self, entries: list[Entry]) -> None:
        self.requests: list[tuple[str, str, str, bytes]] = []  # key, method, path, body
        self._servers = {e.key: self._server(e.key) for e in entries}

    def _server(self, key: str) -> ThreadingHTTPServer:
        site, folder = self, FIXTURES / key

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                site.requests.append((key, self.command, self.path, body))
                path = unquote(urlsplit(self.path).path)
                name = path.rsplit("/", 1)[-1] or "index.html"
                file = folder / name
                if name == "robots.txt" or not file.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                guard = folder / "challenge.html"  # a WZWS guard: its script sets the cookie
                if guard.is_file() and "wzws_cid=" not in (self.headers.get("Cookie") or ""):
                    file = guard
                content = file.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", _content_type(content))
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        # A short poll interval: stopping 46 servers one after another stays quick.
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return server

    def base(self, key: str) -> str:
        return f"http://127.0.0.1:{self._servers[key].server_address[1]}"

    def rewrite(self, entry: Entry, **overrides: Any) -> dict[str, Any]:
        """The entry's `[[sources]]` table with every URL pointed at its server."""
        base = self.base(entry.key)

        def moved(value: Any) -> Any:
            if isinstance(value, str):
                return _ORIGIN.sub(base, value)
            if isinstance(value, list):
                return [moved(v) for v in value]
            if isinstance(value, Mapping):
                return {k: moved(v) for k, v in value.items()}
            return value

        return {"key": entry.key, **moved(dict(entry.source)), **overrides}  # overrides may rekey

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()


@contextmanager
def catalog_site(entries: list[Entry]) -> Iterator[CatalogSite]:
    site = CatalogSite(entries)
    try:
        yield site
    finally:
        site.stop()
