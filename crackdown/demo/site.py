"""A small web site on 127.0.0.1 serving feeds and pages, for the demo and tests.

Each path maps to a `Page`; responses carry an ETag and honour
If-None-Match, like a well-behaved feed host, so conditional GETs are real.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Page:
    body: bytes
    content_type: str = "application/xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[str], Page]


class LoopbackSite:
    """Serve `pages` (path -> Page or callable) until stopped; port 0 picks a free one."""

    def __init__(
        self,
        pages: dict[str, Page | Responder] | None = None,
        port: int = 0,
        host: str = "127.0.0.1",  # tests use 127.0.0.2 as "another private address"
        keep_alive: bool = False,  # HTTP/1.1 persistent connections, as most real hosts
    ) -> None:
        self.pages: dict[str, Page | Responder] = dict(pages or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_GET(self) -> None:
                site._serve(self)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_directory(self, folder: Path, prefix: str = "/") -> None:
        """Serve every file of `folder` under `prefix`."""
        for file in sorted(folder.iterdir()):
            if file.is_file():
                self.pages[prefix + file.name] = Page(file.read_bytes())

    def start(self) -> LoopbackSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackSite:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self.requests.append((handler.path, dict(handler.headers.items())))
            entry = self.pages.get(path)
        page = entry(handler.path) if callable(entry) else entry
        if page is None:
            page = Page(b"not found", "text/plain", 404)
        etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
        if page.status == 200 and handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        handler.send_response(page.status)
        handler.send_header("Content-Type", page.content_type)
        handler.send_header("Content-Length", str(len(page.body)))
        if page.status == 200:
            handler.send_header("ETag", etag)
        for name, value in page.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(page.body)
