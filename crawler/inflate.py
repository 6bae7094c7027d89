"""Content-Encoding decoding that stops at a size limit while inflating.

Why not httpx's own decoders: they inflate each network chunk without a
limit (brotli especially: 1 GiB of zeros fits in under 2 KB), and a size
cap counted after decoding comes too late. Here every decompressor is
asked for at most the bytes still allowed, plus one to notice the excess.
Accepted: gzip, deflate (zlib-wrapped or raw), br; anything else is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import brotli

ACCEPT_ENCODING = "gzip, deflate, br"  # what `decoder_for` can undo


class DecodeError(Exception):
    """The body cannot be decoded within the limit (too large, corrupt, or an unknown coding)."""


class TooLarge(DecodeError):
    """The decoded body would exceed the limit."""


class _Identity:
    def decode(self, data: bytes, budget: int) -> bytes:
        return data


class _Zlib:
    """gzip (`wbits` 31) or deflate; deflate falls back to raw deflate as browsers do."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._object = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False

    def decode(self, data: bytes, budget: int) -> bytes:
        if self._object.eof:  # bytes after the end of the stream are not content
            return b""
        try:
            out = self._object.decompress(data, budget + 1)
        except zlib.error as exc:
            if not (self._raw_fallback and not self._started):
                raise DecodeError(f"corrupt compressed body: {exc}") from exc
            self._object = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            return self.decode(data, budget)
        self._started = True
        if len(out) > budget:
            raise TooLarge
        return out


class _Brotli:
    def __init__(self) -> None:
        self._object = brotli.Decompressor()

    def decode(self, data: bytes, budget: int) -> bytes:
        if self._object.is_finished():
            return b""
        parts: list[bytes] = []
        size = 0
        try:
            chunk = self._object.process(data, output_buffer_limit=budget + 1)
            while True:
                size += len(chunk)
                if size > budget:
                    raise TooLarge
                parts.append(chunk)
                if self._object.can_accept_more_data() or self._object.is_finished():
                    break
                chunk = self._object.process(b"", output_buffer_limit=budget - size + 1)
        except brotli.error as exc:
            raise DecodeError(f"corrupt compressed body: {exc}") from exc
        return b"".join(parts)


def _one(coding: str) -> _Identity | _Zlib | _Brotli:
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Zlib(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br":
        return _Brotli()
    raise DecodeError(f"unsupported Content-Encoding {coding!r}")


class BoundedDecoder:
    """Undoes a Content-Encoding header chunk by chunk; raises TooLarge past `limit` bytes.

    `limit` bounds the raw bytes too, and each stage of a stacked coding
    ("gzip, br"), so no buffer grows past it.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings: Sequence[str] = [
            c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()
        ]
        self._stages = [_one(c) for c in reversed(codings)]  # the last applied is undone first
        self.limit = limit
        self.raw_size = 0
        self.size = 0

    def decode(self, data: bytes) -> bytes:
        self.raw_size += len(data)
        if self.raw_size > self.limit:
            raise TooLarge
        for stage in self._stages:
            data = stage.decode(data, self.limit - self.size)
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge
        return data
