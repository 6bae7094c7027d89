"""FilterBook: subscriber queries follow /watch and /unwatch, phrases included."""

from __future__ import annotations

from datetime import UTC, datetime

from crackdown.runtime.filters import FilterBook
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import builtin_watchlist
from storage import subscribers
from storage.db import Database


def story(title: str):  # type: ignore[no-untyped-def]
    return normalise(
        RawStory("wire", "https://wire.example/1", title), fetched_at=datetime.now(UTC)
    )


def test_watched_queries_are_evaluated_and_the_automaton_follows_their_phrases(
    db: Database,
) -> None:
    watchlist = builtin_watchlist()
    base = Matcher(watchlist)
    book = FilterBook(watchlist, base, max_query_length=200)
    assert not book.refresh(db)  # nothing watched: nothing to do
    with db.session() as session:
        subscribers.add(session, 1, "query", 'binance AND "cold wallet"')
        subscribers.add(session, 2, "query", "huobi")
    assert book.refresh(db)
    assert book.matcher is not base and "cold wallet" in book.matcher.phrases
    result = book.match(story("Binance moves funds to a cold wallet after Huobi hack"))
    assert set(result.queries) == {'binance AND "cold wallet"', "huobi"}
    assert book.match(story("Binance lists a token")).queries == ()
    with db.session() as session:
        subscribers.remove(session, 1, "query", 'binance AND "cold wallet"')
    assert book.refresh(db)
    assert book.matcher is base  # no phrase needed any more: back to the plain automaton
    assert book.match(story("Huobi halts withdrawals")).queries == ("huobi",)
