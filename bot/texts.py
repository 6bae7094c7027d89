"""What the bot says, in English and Chinese."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": (
            "Subscribed: you will get an alert when a story about crypto enforcement "
            "in China appears.\n/stop unsubscribes you.\n/help lists the commands."
        ),
        "zh": (
            "订阅成功：出现有关中国加密货币监管执法的新闻时会通知你。\n"
            "/stop 取消订阅。\n/help 查看命令。"
        ),
    },
    "already": {
        "en": "You are already subscribed. /stop unsubscribes you.",
        "zh": "你已经订阅了。/stop 取消订阅。",
    },
    "stopped": {
        "en": "Unsubscribed. You will get no more alerts. /start subscribes you again.",
        "zh": "已取消订阅，不会再收到提醒。/start 重新订阅。",
    },
    "not_subscribed": {
        "en": "You were not subscribed. /start subscribes you.",
        "zh": "你尚未订阅。/start 订阅。",
    },
    "help": {
        "en": "/start - subscribe to alerts\n/stop - unsubscribe\n/help - this list",
        "zh": "/start - 订阅提醒\n/stop - 取消订阅\n/help - 命令列表",
    },
    "unknown": {
        "en": "I don't know that command. /help lists the ones I do.",
        "zh": "未知命令。/help 查看可用命令。",
    },
}

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [("start", "Subscribe to alerts"), ("stop", "Unsubscribe"), ("help", "List commands")],
    "zh": [("start", "订阅提醒"), ("stop", "取消订阅"), ("help", "命令列表")],
}


def language_of(code: str | None) -> str:
    """Telegram's language_code zh, zh-hans, zh-TW... -> 'zh'; anything else -> 'en'."""
    return "zh" if code and code.lower().startswith("zh") else "en"


def text(name: str, lang: str) -> str:
    return TEXTS[name].get(lang, TEXTS[name]["en"])
