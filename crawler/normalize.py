"""RawStory -> Story: canonical URL, clean text, a language, UTC time."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime, timedelta

from crawler.text import clean_text
from crawler.types import RawStory, Story
from crawler.urls import canonical_url

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# A clock (ours or the source's) a little ahead, or a date in a zone east of the feed's
# label, is not "the future": more than a day ahead is.
FUTURE_SLACK = timedelta(days=1)


def guess_lang(text: str) -> str:
    """'zh' when a good share of the letters are CJK ideographs, else 'en'."""
    letters = sum(1 for ch in text if ch.isalpha())
    if not letters:
        return "en"
    return "zh" if len(_CJK.findall(text)) / letters > 0.3 else "en"


def title_fingerprint(title: str) -> str:
    """A hash of the title's words, blind to case, width and punctuation."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return hashlib.sha1(_NON_WORD.sub(" ", folded).strip().encode("utf-8")).hexdigest()


def normalise(raw: RawStory, *, fetched_at: datetime) -> Story:
    """Clean a collected story; a missing date, or one over a day ahead, becomes the fetch time."""
    title = clean_text(raw.title)
    summary = clean_text(raw.summary)
    body = clean_text(raw.body)
    published = raw.published_at or fetched_at
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    seen = fetched_at if fetched_at.tzinfo is not None else fetched_at.replace(tzinfo=UTC)
    if published > seen + FUTURE_SLACK:
        # Nothing is published in the future: a date in 9999 (a typo, a CMS's "never")
        # would head every newest-first list and window for good. Seen now, then.
        published = seen
    return Story(
        source_key=raw.source_key,
        url=raw.url,
        canonical_url=canonical_url(raw.url),
        title=title,
        summary=summary,
        body=body,
        lang=raw.lang or guess_lang(f"{title} {summary}"),
        published_at=published.astimezone(UTC),
        fingerprint=title_fingerprint(title),
    )
