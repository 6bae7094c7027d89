"""Content-Encoding decoding that stops at a size limit while inflating.

Why not httpx's own decoders: they inflate each network chunk without a
limit (brotli especially: 1 GiB of zeros fits in under 2 KB), and a size
cap counted after decoding comes too late. Here every decompressor is
asked for at most the bytes still allowed, plus one to notice the excess.
Accepted: gzip, deflate (zlib-wrapped or raw), br. A body that does not
start as its declared coding does (plain XML sent as "gzip" by a server or
proxy, gzip as "deflate", "gzip, gzip" compressed once, "Content-Encoding:
UTF-8") is read as what its first bytes show, as feed readers do: gzip,
zlib or uncompressed markup; anything else is refused.
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


class _Unknown:
    """A coding we cannot undo: refused, unless the body's first bytes show what it is."""

    def __init__(self, coding: str) -> None:
        self.coding = coding

    def decode(self, data: bytes, budget: int) -> bytes:
        raise DecodeError(f"unsupported Content-Encoding {self.coding!r}")


Stage = _Identity | _Zlib | _Brotli | _Unknown
TEXT_STARTS = (b"<", b"{", b"[")  # markup or JSON: a body sent uncompressed


def _one(coding: str) -> Stage:
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Zlib(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br":
        return _Brotli()
    return _Unknown(coding)


def _sniffed(data: bytes) -> Stage | None:
    """The coding a body's first bytes show (gzip, zlib, none), or None if they show none."""
    if data.startswith(b"\x1f\x8b"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        return _Zlib(zlib.MAX_WBITS)
    if data.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in TEXT_STARTS:
        return _Identity()
    return None


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
        self._fed = [False] * len(self._stages)  # whether each stage has taken bytes yet
        self.limit = limit
        self.raw_size = 0
        self.size = 0

    def decode(self, data: bytes) -> bytes:
        self.raw_size += len(data)
        if self.raw_size > self.limit:
            raise TooLarge
        for index, stage in enumerate(self._stages):
            try:
                data = stage.decode(data, self.limit - self.size)
            except TooLarge:
                raise
            except DecodeError:
                # Its first bytes are not what the header says: read them as what they show.
                instead = None if self._fed[index] else _sniffed(data)
                if instead is None:
                    raise
                self._stages[index] = instead
                data = instead.decode(data, self.limit - self.size)
            self._fed[index] = True
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge
        return data
