"""Parse Telegram's ``parse_mode=HTML`` subset into ``(plain_text, entities)``.

Telegram does not store HTML: it parses the markup into plain text plus a list of
MessageEntity objects, counts the length limit on the plain text and rejects malformed
markup with ``Bad Request: can't parse entities: ...``. The stand-in must do the same,
or the bot would pass tests here and fail against the real API.

Conventions (as in the real Bot API):

* entity ``offset``/``length`` are in UTF-16 code units (what PTB's ``parse_entity`` expects);
* error positions are UTF-8 byte offsets into the HTML source;
* only ``&lt; &gt; &amp; &quot;`` and numeric references are accepted; any other
  ``&name;`` is an error. A lone ``&`` that does not form a reference stays literal.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

__all__ = ["EntityParseError", "parse_html", "utf16_len"]

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# tag -> entity type; tags with extra rules (span, a, pre, code, blockquote, tg-emoji)
# are resolved in _Parser._entity_for.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_SUPPORTED_TAGS = set(_SIMPLE_TAGS) | {"span", "a", "code", "pre", "blockquote", "tg-emoji"}


class EntityParseError(ValueError):
    """Malformed markup; ``str(err)`` is the part after ``can't parse entities: ``."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    """Event-driven walk over the markup that builds plain text and entities."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._src = source
        self._line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self._line_starts.append(i + 1)
        self._cursor = 0  # index in source up to which every character has been accounted for
        self._parts: list[str] = []
        self._utf16 = 0  # current plain-text length in UTF-16 units
        # open tags: (tag, attrs, plain-text utf16 offset, source index)
        self._stack: list[tuple[str, dict[str, str | None], int, int]] = []
        self.entities: list[dict[str, Any]] = []
        self._pre_language: str | None = None  # from <pre><code class="language-x">

    # -- helpers -----------------------------------------------------------------------------
    def _pos(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _byte(self, index: int) -> int:
        return len(self._src[:index].encode("utf-8"))

    def _fail(self, message: str) -> None:
        raise EntityParseError(message)

    def _enter(self) -> int:
        """Start of the current construct; anything skipped before it was swallowed markup."""
        pos = self._pos()
        if pos > self._cursor:
            self._fail(f"Unsupported start tag at byte offset {self._byte(self._cursor)}")
        return pos

    def _emit(self, text: str) -> None:
        self._parts.append(text)
        self._utf16 += utf16_len(text)

    @property
    def plain_text(self) -> str:
        return "".join(self._parts)

    # -- HTMLParser callbacks ----------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        pos = self._enter()
        lt = data.find("<")
        if lt >= 0:
            self._fail(f'Unescaped "<" at byte offset {self._byte(pos + lt)}; use "&lt;"')
        self._emit(data)
        self._cursor = pos + len(data)

    def handle_entityref(self, name: str) -> None:
        pos = self._enter()
        end = pos + 1 + len(name)
        has_semicolon = self._src.startswith(";", end)
        if name in _NAMED_ENTITIES and has_semicolon:
            self._emit(_NAMED_ENTITIES[name])
        elif has_semicolon:
            self._fail(f'Unsupported HTML entity "&{name};" at byte offset {self._byte(pos)}')
        else:  # "&amp b" without ';' - Telegram keeps such text literally
            self._emit(self._src[pos:end])
        self._cursor = end + (1 if has_semicolon else 0)

    def handle_charref(self, name: str) -> None:
        pos = self._enter()
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            char = chr(code)
        except (ValueError, OverflowError):
            char = ""
        if not char or 0xD800 <= ord(char) <= 0xDFFF:
            self._fail(f'Invalid numeric entity "&#{name};" at byte offset {self._byte(pos)}')
        self._emit(char)
        end = pos + 2 + len(name)
        self._cursor = end + (1 if self._src.startswith(";", end) else 0)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pos = self._enter()
        if tag not in _SUPPORTED_TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte(pos)}')
        attr_map = {k: v for k, v in attrs}
        if tag == "span" and attr_map.get("class") != "tg-spoiler":
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte(pos)}')
        if tag == "tg-emoji" and not attr_map.get("emoji-id"):
            self._fail(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {self._byte(pos)}'
            )
        self._stack.append((tag, attr_map, self._utf16, pos))
        self._cursor = pos + len(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte(self._enter())}')

    def handle_endtag(self, tag: str) -> None:
        pos = self._enter()
        if not self._stack:
            self._fail(f"Unexpected end tag at byte offset {self._byte(pos)}")
        open_tag, attrs, start, _ = self._stack.pop()
        if open_tag != tag:
            self._fail(
                f"Unmatched end tag at byte offset {self._byte(pos)}, expected "
                f'"</{open_tag}>", found "</{tag}>"'
            )
        entity = self._entity_for(open_tag, attrs)
        if entity is not None and self._utf16 > start:  # Telegram drops empty entities
            entity.update(offset=start, length=self._utf16 - start)
            self.entities.append(entity)
        self._cursor = self._src.index(">", pos) + 1

    def _entity_for(self, tag: str, attrs: dict[str, str | None]) -> dict[str, Any] | None:
        if tag in _SIMPLE_TAGS:
            return {"type": _SIMPLE_TAGS[tag]}
        if tag == "span":
            return {"type": "spoiler"}
        if tag == "a":
            href = attrs.get("href")
            return {"type": "text_link", "url": href} if href else None
        if tag == "tg-emoji":
            return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
        if tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
            return {"type": kind}
        if tag == "code":
            language = (attrs.get("class") or "").removeprefix("language-")
            parent = self._stack[-1][0] if self._stack else None
            if parent == "pre" and language and language != attrs.get("class"):
                self._pre_language = language  # folded into the enclosing <pre>
                return None
            return {"type": "code"}
        if tag == "pre":
            language, self._pre_language = self._pre_language, None
            return {"type": "pre", "language": language} if language else {"type": "pre"}
        return None  # pragma: no cover - _SUPPORTED_TAGS and this method agree

    # These constructs are never valid in Telegram HTML.
    def handle_comment(self, data: str) -> None:
        self._fail(f'Unsupported start tag "!--" at byte offset {self._byte(self._enter())}')

    def handle_decl(self, decl: str) -> None:
        self._fail(f'Unsupported start tag "!" at byte offset {self._byte(self._enter())}')

    unknown_decl = handle_decl

    def handle_pi(self, data: str) -> None:
        self._fail(f'Unsupported start tag "?" at byte offset {self._byte(self._enter())}')

    def finish(self) -> None:
        self.close()
        if self._cursor < len(self._src):
            self._fail(f"Unclosed start tag at byte offset {self._byte(self._cursor)}")
        if self._stack:
            tag = self._stack[-1][0]
            self._fail(f'Can\'t find end tag corresponding to start tag "{tag}"')


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` for Telegram-HTML ``source``.

    Entities are sorted like Telegram returns them: by offset, outer (longer) first.
    Raises EntityParseError for markup Telegram would reject.
    """
    parser = _Parser(source)
    parser.feed(source)
    parser.finish()
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return parser.plain_text, entities
