"""`[cluster]` resolved against the watchlist, and what it does to stories stored by the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crackdown.app import App, cluster_settings, load_watchlist, open_app
from crackdown.config import Config, ConfigError, build_config
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import stories
from storage.models import StoryRow

T0 = datetime(2018, 1, 19, 10, 0, tzinfo=UTC)
SOURCES = [
    {"key": key, "url": f"https://{key}.example/feed"} for key in ("lianwen", "jinse", "8btc")
]


def _document(tmp_path: Path, **cluster: Any) -> dict[str, Any]:
    return {
        "storage": {"url": f"sqlite:///{tmp_path / 'c.db'}"},
        "sources": SOURCES,
        "cluster": cluster,
    }


def _families(**cluster: Any) -> dict[str, str]:
    config = Config.model_validate({"cluster": cluster})
    watchlist, _ = load_watchlist(config)
    return dict(cluster_settings(config, watchlist).families)


def test_the_default_tells_events_apart_by_who_acted() -> None:
    families = _families()
    for key in ("pboc", "csrc", "mps", "court", "binance", "huobi", "okx"):
        assert families[key] == key
    assert families["alipay"] == families["ant-group"] == "alibaba"
    assert families["wechat-pay"] == families["tenpay"] == "tencent"
    assert "exchange" not in families  # every named exchange implies it: it would agree always
    assert "bitcoin" not in families and "otc" not in families  # what happened, not who


def test_distinct_takes_entity_keys_and_rejects_unknown_names() -> None:
    assert _families(distinct=["bitmain", "canaan"]) == {"bitmain": "bitmain", "canaan": "canaan"}
    assert _families(distinct=[]) == {}
    with pytest.raises(ConfigError, match=r"cluster\.distinct\[1\].*'binanse'"):
        _families(distinct=["exchange", "binanse"])


def _store(app: App, source: str, title: str, summary: str, hours: float) -> int:
    raw = RawStory(
        source_key=source,
        url=f"https://{source}.example/{abs(hash(title))}",
        title=title,
        summary=summary,
        published_at=T0 + timedelta(hours=hours),
        lang="zh",
    )
    story = normalise(raw, fetched_at=T0)
    with app.db.session() as session:
        outcome = stories.store_stories(session, [(story, app.matcher.match(story))])[0]
        assert outcome.story_id is not None
        cluster = session.scalars(
            select(StoryRow.cluster_id).where(StoryRow.id == outcome.story_id)
        ).one()
    return cluster


ALIPAY = (
    "支付宝：将关停用于比特币场外交易的账户",
    "支付宝表示，将加强交易监控，一旦发现账户被用于比特币等虚拟货币的场外交易，将立即关停相关账户。",
)
WECHAT = (
    "微信支付：严禁利用微信支付从事虚拟货币交易",
    "微信支付表示，将加强交易监控，发现利用微信支付进行比特币等虚拟货币场外交易的，将冻结账户。",
)
TENPAY = (
    "财付通：对利用微信支付进行虚拟货币交易的账户采取限制措施",
    "财付通表示，发现利用微信支付进行比特币等虚拟货币场外交易的，将采取限制收款、冻结账户等措施。",
)


def test_platforms_notices_in_the_same_words_stay_apart_and_a_reload_applies_cluster(
    tmp_path: Path,
) -> None:
    app = open_app(build_config(_document(tmp_path), {}))
    try:
        alipay = _store(app, "lianwen", *ALIPAY, hours=0)
        wechat = _store(app, "lianwen", *WECHAT, hours=1)
        tenpay = _store(app, "jinse", *TENPAY, hours=2)
        assert wechat != alipay  # Alipay's and WeChat Pay's bans: two events, two alerts
        assert tenpay == wechat  # Tenpay runs WeChat Pay: one event
        assert _store(app, "8btc", *ALIPAY, hours=3) == alipay  # another outlet, same title

        restart = app.reload(build_config(_document(tmp_path, enabled=False), {}))
        assert not any("cluster" in name for name in restart)  # applied at once
        again = _store(app, "jinse", ALIPAY[0] + "（更新）", ALIPAY[1], hours=4)
        assert again not in (alipay, wechat)  # clustering is off now
    finally:
        app.db.dispose()
