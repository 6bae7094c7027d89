"""PTB's HTTP requests over aiohttp: a quarter of httpx's CPU per Bot API call.

Why: at Telegram's limits x10 (bench/delivery.py, 300 messages/s) httpx took
about 2.4 ms of CPU per sendMessage, most of it in httpcore's pool bookkeeping
(every request checks every idle connection, through anyio's extra-attribute
lookups); aiohttp takes about 0.7 ms with PTB's own work included, which is
what lets one core send at the configured rate. PTB documents `BaseRequest`
as the place for another HTTP library; this is one, for the sending bot.

Kept from `HTTPXRequest`: the same timeouts (per call or the defaults given
here), proxies from the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY),
multipart for files, and the same errors (`TimedOut`, `NetworkError`). Error
texts never carry the request URL's token.

Each request tells the pacer it goes out (`bot.pacing.sending`) and when its
answer (or failure) is in (`bot.pacing.answered`): Telegram counted the send
somewhere between the two, so the pacer counts it until a window after that.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.pacing import answered, sending

_TOKEN_IN_URL = re.compile(r"/bot[^/\s'\"]+")


def _redacted(error: BaseException) -> str:
    """The error's text without the token that a URL in it would carry."""
    return _TOKEN_IN_URL.sub("/bot<token>", str(error))


class AiohttpRequest(BaseRequest):
    """A pool of up to `connection_pool_size` keep-alive connections, as `HTTPXRequest`'s."""

    def __init__(
        self,
        connection_pool_size: int = 8,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,  # accepted as HTTPXRequest's; aiohttp has none
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the pool (inside the running loop, as aiohttp requires)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                # Not trust_env: that reads ~/.netrc and the proxy variables in a thread at
                # every request. The proxy is looked up once a host instead (`_proxy`).
                trust_env=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _proxy(self, url: str) -> str | None:
        """HTTPS_PROXY / HTTP_PROXY / ALL_PROXY for the URL's host unless NO_PROXY names it."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            bypass = urllib.request.proxy_bypass(key[1]) if key[1] else True
            self._proxies[key] = None if bypass else proxies.get(key[0]) or proxies.get("all")
        return self._proxies[key]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`: the status code and the body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._read_timeout if _default(read_timeout) else read_timeout
        connect = self._connect_timeout if _default(connect_timeout) else connect_timeout
        pool = self._pool_timeout if _default(pool_timeout) else pool_timeout
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,  # aiohttp has no write timeout: a Bot API request is small
        )
        sending()
        try:
            async with self._session.request(
                method,
                url,
                data=_body(request_data),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=self._proxy(url),
            ) as response:
                return _restored(response.status, await response.read())
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(f"aiohttp: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {_redacted(exc)}") from exc
        finally:
            answered()


class UpdatesRequest(HTTPXRequest):
    """PTB's httpx request for the long poll (getUpdates), with `_restored` statuses: through
    a relay that answers 200, a 409 Conflict became a KeyError that ended command reading."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(*args, **kwargs)
        return _restored(status, body)


def _restored(status: int, body: bytes) -> tuple[int, bytes]:
    """The status Telegram gave an answer that a relay in front of it passed on as 2xx.

    Bot API relays (a Cloudflare Worker, an nginx `proxy_intercept_errors` setup) often
    answer 200 whatever Telegram said. PTB takes any 2xx for success and reads "result":
    `{"ok":false,"error_code":403,...}` became a KeyError and a traceback on every send,
    a blocked chat was never dropped and a 429's retry_after was not waited out. Such an
    answer gets its `error_code` back (500 when it has none), so PTB raises the right error.
    """
    if not 200 <= status <= 299 or body.startswith((b'{"ok":true', b'{"ok": true')):
        return status, body  # Telegram's own success answers take the first test
    try:
        data = json.loads(body)
    except ValueError:
        return status, body  # not JSON at all: PTB's "Invalid server response"
    if not isinstance(data, dict) or (data.get("ok") is True and "result" in data):
        return status, body
    code = data.get("error_code")
    return (code if isinstance(code, int) and 400 <= code <= 599 else 500), body


def _default(value: object) -> bool:
    """Whether PTB passed its "not given" sentinel rather than a timeout."""
    return isinstance(value, type(BaseRequest.DEFAULT_NONE))


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Form fields as PTB encodes them; multipart when the request uploads files."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, part in files.items():
        filename, content, *rest = part
        form.add_field(name, content, filename=filename, content_type=rest[0] if rest else None)
    return form
