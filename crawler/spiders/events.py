"""What a crawl reports, one JSON line per event on the child's stdout.

    Page   a page was fetched (a list page: how many links, how many new)
    Item   an article, as a `CrawledStory`
    Error  a page that failed (HTTP 404, timeout, too big, robots.txt)
    Done   a source's spider closed, with its counts

The parent reads these as they come (progress lines, ingest at `Done`);
a source with no `Done` did not finish (the child crashed or was killed).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from crawler.types import RawStory


@dataclass(frozen=True)
class Attachment:
    name: str
    url: str


@dataclass(frozen=True)
class CrawledStory:
    """An article page as a spider read it; `published_at` is ISO 8601 or None."""

    url: str
    title: str
    body: str = ""
    published_at: str | None = None
    lang: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def raw(self, source_key: str) -> RawStory:
        """The pipeline's input; attachments are already listed at the end of the body."""
        published = datetime.fromisoformat(self.published_at) if self.published_at else None
        return RawStory(
            source_key=source_key,
            url=self.url,
            title=self.title,
            body=self.body,
            published_at=published,
            lang=self.lang,
        )


@dataclass(frozen=True)
class Page:
    source: str
    url: str
    status: int
    kind: str  # "list" | "article"
    links: int = 0  # article links found (list pages)
    new: int = 0  # of which not seen before


@dataclass(frozen=True)
class Item:
    source: str
    story: CrawledStory


@dataclass(frozen=True)
class Error:
    source: str
    url: str
    kind: str  # "list" | "article"
    error: str
    blocked: bool = False  # robots.txt said no: the site's wish, not its failure


@dataclass(frozen=True)
class Done:
    source: str
    reason: str  # Scrapy's close reason: "finished", "shutdown", ...
    list_pages: int = 0  # list pages read
    pages: int = 0  # article pages read
    items: int = 0
    errors: int = 0
    blocked: int = 0
    first_error: str | None = field(default=None)  # a list page's, if no list page was read


Event = Page | Item | Error | Done
_KINDS: dict[str, type[Page] | type[Item] | type[Error] | type[Done]] = {
    "page": Page,
    "item": Item,
    "error": Error,
    "done": Done,
}


def encode(event: Event) -> str:
    """One line of JSON, without a newline."""
    return json.dumps({"event": type(event).__name__.lower(), **asdict(event)}, ensure_ascii=False)


def decode(line: str) -> Event:
    """Parse one line; ValueError (or a KeyError/TypeError as ValueError) if it is not an event."""
    try:
        data: dict[str, Any] = json.loads(line)
        kind = _KINDS[data.pop("event")]
        if kind is Item:
            story = dict(data["story"])
            story["attachments"] = tuple(Attachment(**a) for a in story.get("attachments", ()))
            return Item(source=data["source"], story=CrawledStory(**story))
        return kind(**data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a crawl event: {line[:200]!r}") from exc
