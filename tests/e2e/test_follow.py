"""Subscriptions end to end: what a chat follows decides what it is sent (run --once)."""

from __future__ import annotations

from pathlib import Path

from crackdown.standin import BotApiStandIn
from tests.e2e.conftest import IRRELEVANT, RELEVANT, crackdown

TOPIC_READER, ALIPAY_WATCHER = 5101, 5102


def test_a_followed_entity_brings_every_story_about_it_and_nothing_else(
    world: Path, standin: BotApiStandIn
) -> None:
    standin.add_user(TOPIC_READER, "Ann")
    standin.add_user(ALIPAY_WATCHER, "李", language_code="zh")
    standin.send_text(TOPIC_READER, "/start")
    standin.send_text(ALIPAY_WATCHER, "/follow 支付宝")  # no /start: only Alipay

    run = crackdown("--config", str(world), "run", "--once")
    assert run.returncode == 0, run.stderr

    watcher = [m.plain_text for m in standin.sent_messages(ALIPAY_WATCHER)]
    assert watcher[0].startswith("已关注 支付宝：") and "/watch alipay AND action" in watcher[0]
    # Alipay in the title or the summary ("...joining Alipay in policing..."), whether or
    # not the story is about the topic: this chat asked for Alipay.
    about_alipay = [RELEVANT[0], RELEVANT[1], RELEVANT[3], IRRELEVANT[1], IRRELEVANT[3]]
    for title in about_alipay:
        assert sum(title in text for text in watcher[1:]) == 1, title
    assert len(watcher) == 1 + len(about_alipay), [t.splitlines()[0] for t in watcher]

    reader = [m.plain_text for m in standin.sent_messages(TOPIC_READER)]
    assert len(reader) == 1 + len(RELEVANT)  # the topic's stories only
    assert not any(IRRELEVANT[1] in text for text in reader)


def test_a_watched_query_brings_the_stories_it_matches(world: Path, standin: BotApiStandIn) -> None:
    watcher = 5103
    standin.add_user(watcher, "Wu")
    standin.send_text(watcher, '/watch bitcoin AND "price climbs"')  # a phrase no rule uses

    run = crackdown("--config", str(world), "run", "--once")
    assert run.returncode == 0, run.stderr

    texts = [m.plain_text for m in standin.sent_messages(watcher)]
    assert texts[0].startswith('Watching: bitcoin AND "price climbs"')
    assert len(texts) == 2 and texts[1].startswith(IRRELEVANT[0])  # not a topic story

    again = crackdown("--config", str(world), "run", "--once")
    assert again.returncode == 0 and len(standin.sent_messages(watcher)) == 2


def test_a_channel_attached_in_config_gets_its_topic_without_any_command(
    world: Path, standin: BotApiStandIn
) -> None:
    channel = -1001234500001
    standin.add_group(channel, "链闻快讯", "channel", admin_ids=[TOPIC_READER])
    with world.open("a", encoding="utf-8") as config:
        config.write(
            f"""
[[telegram.channels]]
chat_id = {channel}
name = "链闻快讯"
topics = ["china-crypto-enforcement"]
lang = "zh"
timezone = "Asia/Shanghai"
"""
        )
    run = crackdown("--config", str(world), "run", "--once")
    assert run.returncode == 0, run.stderr

    posts = [m.plain_text for m in standin.sent_messages(channel)]
    assert len(posts) == len(RELEVANT)  # every topic story once, nothing else, no welcome
    for title in RELEVANT:
        assert sum(title in post for post in posts) == 1, title
    assert all("UTC+8" in post for post in posts)  # the channel's zone, from config
