"""What spiders need from storage: the article URLs already stored (not fetched again)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crawler.urls import canonical_url
from storage.models import StoryRow


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stored_urls(session: Session, domains: Iterable[str]) -> set[str]:
    """Canonical URLs of stored stories on these hosts or their subdomains, any scheme or port.

    Any source's stories count: a notice first stored from a feed is not
    fetched again by a spider. Hosts are folded as canonical URLs fold them
    (www. and m. dropped), so the answer matches `canonical_url` keys.
    """
    patterns: list[str] = []
    for domain in dict.fromkeys(domains):
        host = urlsplit(canonical_url(f"http://{domain}/")).hostname
        if not host:
            continue
        for scheme in ("http", "https"):
            for sub in ("", "%."):
                for end in ("/%", ":%"):
                    patterns.append(f"{scheme}://{sub}{_escape(host)}{end}")
    if not patterns:
        return set()
    query = select(StoryRow.canonical_url).where(
        or_(*(StoryRow.canonical_url.like(p, escape="\\") for p in patterns))
    )
    return set(session.scalars(query))
