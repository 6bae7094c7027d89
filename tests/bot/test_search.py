"""/search through the stand-in: the filter's syntax, Chinese folding, ranking, paging buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crackdown.standin import BotApiStandIn
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import sources, stories
from storage.clusters import ClusterSettings
from storage.db import Database
from tests.bot.test_commands import ANN, GROUP, LI, MATCHER, STRANGER, Conversation, talk

__all__ = ["talk"]  # the fixture, shared with the command tests


def store(db: Database, title: str, *, days_ago: float = 0, summary: str = "") -> None:
    published = datetime.now(UTC) - timedelta(days=days_ago)
    story = normalise(
        RawStory(
            "wire",
            f"https://wire.example/{abs(hash(title))}",
            title,
            summary,
            published_at=published,
        ),
        fetched_at=datetime.now(UTC),
    )
    with db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
        stories.store_story(session, story, MATCHER.match(story))


def test_search_finds_matched_stories_with_the_filter_syntax(
    talk: Conversation, db: Database
) -> None:
    store(db, "PBoC bans bitcoin OTC trading")
    store(db, "Alipay to cut off accounts used for bitcoin OTC trading")
    store(db, "支付寶：將關停用於比特幣場外交易的賬戶")  # traditional: found by 支付宝 and Alipay
    store(db, "Binance gets a license in Dubai")
    store(db, "Weather report for Beijing")  # not matched by the filter: never a result

    reply = talk.one(ANN, "/search alipay")
    assert reply.splitlines()[:2] == ["🔎 alipay", "1–2 of 2, best first"]
    assert "支付寶：將關停用於比特幣場外交易的賬戶" in reply and "Alipay to cut off" in reply

    # A bare word is a phrase unless it is an entity key: 支付宝 is the text, alipay the entity.
    assert "第 1–1 条，共 1 条" in talk.one(LI, "/search 支付宝")
    assert "PBoC bans" in talk.one(ANN, '/search bitcoin AND NOT "cut off" AND NOT 支付宝')
    assert talk.one(ANN, "/search weather") == "No stored story matches weather."
    assert talk.one(LI, "/search 天气") == "没有已存的新闻匹配 天气。"
    assert talk.one(ANN, "/search binance NEAR/3 license").count("\n") == 2
    assert talk.one(ANN, "/search binance NEAR/1 license").startswith("No stored story")
    assert talk.one(ANN, "/search").startswith("Usage: /search QUERY")
    error = talk.one(ANN, "/search (binance AND")
    assert "missing ')'" in error or "ends too early" in error
    assert talk.one(ANN, "/search " + "x" * 5000).startswith("That query is 5000 characters")


def test_a_fresh_headline_ranks_above_an_old_one_and_a_mention(
    talk: Conversation, db: Database
) -> None:
    store(db, "Binance fined by regulators", days_ago=200)
    store(db, "Regulators weigh new rules", summary="Binance was also mentioned in passing.")
    store(db, "Binance banned from Chinese app stores", days_ago=1)
    titles = talk.one(ANN, "/search binance").splitlines()[2:]
    assert [t.split(". ", 1)[1].split(" · ")[0] for t in titles] == [
        "Binance banned from Chinese app stores",  # a headline, a day old
        "Regulators weigh new rules",  # a mention, today
        "Binance fined by regulators",  # a headline, 200 days old
    ]


def test_results_are_paged_with_buttons_anyone_in_a_group_may_press(
    talk: Conversation, db: Database, standin: BotApiStandIn
) -> None:
    for n in range(12):
        store(db, f"PBoC warns on bitcoin OTC desks, notice {n}", days_ago=n)
    talk.say(STRANGER, "/search bitcoin OTC", GROUP)
    message = standin.sent_messages(GROUP)[-1]
    lines = message.plain_text.splitlines()
    assert lines[1] == "1–5 of 12, best first" and ", notice 0 · " in lines[2]
    stored = standin.state.messages[(GROUP, message.message_id)]
    assert [b["text"] for b in (stored.reply_markup or {})["inline_keyboard"][0]] == ["▶"]

    talk.press(STRANGER, GROUP, message.message_id, "search:3")
    lines = stored.text.splitlines()
    assert lines[0] == "🔎 bitcoin OTC" and lines[1] == "11–12 of 12, best first"
    assert lines[2].startswith("11. ") and ", notice 11 · " in lines[3]
    assert [b["text"] for b in (stored.reply_markup or {})["inline_keyboard"][0]] == ["◀"]
    talk.press(STRANGER, GROUP, message.message_id, "search:3")  # a double tap changes nothing
    assert stored.text.splitlines()[1] == "11–12 of 12, best first"
    assert len(standin.callback_answers) == 2  # every tap answered, no spinning button


def test_reports_of_one_event_are_one_result_with_their_other_sources(
    talk: Conversation, db: Database
) -> None:
    notice = (
        "The People's Bank of China said bitcoin over-the-counter trading platforms must "
        "stop matching buyers and sellers and close their accounts by March."
    )
    reports = [
        ("reuters", "PBoC orders bitcoin OTC platforms to shut"),
        ("coindesk", "China's central bank orders OTC bitcoin desks to close"),
        ("caixin", "PBoC tells OTC bitcoin platforms to close accounts by March"),
    ]
    items = []
    for source, title in reports:
        raw = RawStory(source, f"https://{source}.example/otc", title, f"{source}: {notice}")
        story = normalise(raw, fetched_at=datetime.now(UTC))
        items.append((story, MATCHER.match(story)))
    with db.session() as session:
        sources.sync_sources(session, [(k, "feed", f"https://{k}.example/f") for k, _ in reports])
        session.info["clustering"] = ClusterSettings()  # [cluster] enabled = true
        stories.store_stories(session, items)
    store(db, "PBoC warns banks over bitcoin OTC payments", summary="A different notice.")

    lines = talk.one(ANN, "/search pboc AND otc").splitlines()
    assert lines[1] == "1–2 of 2, best first"  # two events, not four stories
    (other,) = [line for line in lines[2:] if "warns banks" in line]
    (event,) = [line for line in lines[2:] if line != other]
    assert "· +2 sources ·" in event and "sources" not in other
