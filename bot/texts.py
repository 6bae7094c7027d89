"""What the bot says, in English and Chinese. Placeholders are filled with str.format."""

from __future__ import annotations

import re

TEXTS: dict[str, dict[str, str]] = {
    # the alert line saying what happened (crawler `act` kinds) and who acted
    "what_happened": {"en": "⚖ {acts}", "zh": "⚖ {acts}"},
    "by_actor": {"en": "by {actors}", "zh": "执行方：{actors}"},
    "act_ban": {"en": "ban", "zh": "禁令"},
    "act_warning": {"en": "warning", "zh": "警示"},
    "act_investigation": {"en": "investigation", "zh": "调查"},
    "act_arrest": {"en": "arrest", "zh": "抓捕"},
    "act_prosecution": {"en": "prosecution", "zh": "起诉"},
    "act_judgment": {"en": "sentence or judgment", "zh": "判决"},
    "act_freeze-seizure": {"en": "freeze or seizure", "zh": "冻结/查扣"},
    "act_shutdown-block": {"en": "shutdown or block", "zh": "关停/封禁"},
    "act_penalty": {"en": "penalty", "zh": "处罚"},
    "welcome": {
        "en": (
            "Subscribed to “{topic}”: you will get an alert when a story about it appears.\n"
            "/follow Alipay - also follow a company, regulator or term\n"
            "/watch binance AND OTC - your own query\n"
            "/help - every command; /stop - unsubscribe and delete your data"
        ),
        "zh": (
            "订阅成功：已订阅“{topic}”，有相关新闻时会通知你。\n"
            "/follow 支付宝 - 另外关注某个公司、机构或术语\n"
            "/watch 币安 AND 场外交易 - 自定义查询\n"
            "/help - 全部命令；/stop - 取消订阅并删除你的数据"
        ),
    },
    "already": {
        "en": "You are already subscribed. /list shows what you follow; /help lists commands.",
        "zh": "你已经订阅了。/list 查看关注内容；/help 查看命令。",
    },
    "stopped": {
        "en": "Unsubscribed, and everything we held about this chat is deleted. "
        "/start subscribes you again.",
        "zh": "已取消订阅，并已删除本聊天的全部数据。/start 重新订阅。",
    },
    "not_subscribed": {
        "en": "You were not subscribed. /start subscribes you.",
        "zh": "你尚未订阅。/start 订阅。",
    },
    "help": {
        "en": (
            "/start - subscribe to the main topic\n"
            "/topics - choose topics\n"
            "/follow NAME - every story naming a company, regulator or term (Alipay, 央行, OTC), "
            "whatever it is about; /watch alipay AND action for its enforcement news only\n"
            "/unfollow NAME - stop following it\n"
            '/watch QUERY - your own query: binance AND (OTC OR "P2P") AND NOT price\n'
            "/unwatch N - remove query N from /list\n"
            "/list - everything this chat follows\n"
            "/latest [N] - the latest matched stories\n"
            "/search QUERY - search stored stories: okx AND license\n"
            "/timeline NAME - the latest events about a company or regulator\n"
            "/mute 2h, /unmute - hold alerts for a while\n"
            "/quiet 23:00-07:00 - hold alerts at night; /tz Asia/Shanghai - your time zone\n"
            "/digest off|hourly|daily 08:00 - one message instead of many\n"
            "/everysource on|off - an alert from every source, or one per event\n"
            "/settings - all of these settings at once\n"
            "/lang en|zh - language of the bot's replies\n"
            "/stop - unsubscribe and delete this chat's data"
        ),
        "zh": (
            "/start - 订阅主话题\n"
            "/topics - 选择话题\n"
            "/follow 名称 - 提到某公司、机构或术语（支付宝、央行、场外交易）的所有新闻；"
            "只要执法类新闻：/watch alipay AND action\n"
            "/unfollow 名称 - 取消关注\n"
            '/watch 查询 - 自定义查询：币安 AND (场外交易 OR "P2P") AND NOT 价格\n'
            "/unwatch 编号 - 删除 /list 中的第 N 条查询\n"
            "/list - 本聊天关注的全部内容\n"
            "/latest [N] - 最新匹配的新闻\n"
            "/search 查询 - 搜索已存的新闻：币安 AND 牌照\n"
            "/timeline 名称 - 某公司或机构的最新事件\n"
            "/mute 2h、/unmute - 暂时保留提醒\n"
            "/quiet 23:00-07:00 - 夜间保留提醒；/tz Asia/Shanghai - 你的时区\n"
            "/digest off|hourly|daily 08:00 - 汇总为一条消息\n"
            "/everysource on|off - 每个来源一条提醒，或每个事件一条\n"
            "/settings - 以上所有设置\n"
            "/lang en|zh - 机器人回复的语言\n"
            "/stop - 取消订阅并删除本聊天的数据"
        ),
    },
    "unknown": {
        "en": "I don't know that command. /help lists the ones I do.",
        "zh": "未知命令。/help 查看可用命令。",
    },
    "busy": {
        "en": "Sorry, I could not do that just now (my database is busy). "
        "Please send the command again in a minute.",
        "zh": "抱歉，暂时无法处理（数据库繁忙），请过一分钟再发送一次该命令。",
    },
    "free_text": {
        "en": "I answer commands only. To search stored stories: /search {words}\n"
        "To be alerted about it: /follow NAME or /watch QUERY. /help lists them all.",
        "zh": "我只回应命令。搜索已存的新闻：/search {words}\n"
        "要收到相关提醒：/follow 名称 或 /watch 查询。/help 查看全部命令。",
    },
    "admins_only": {
        "en": "Only this group's admins can change what it follows.",
        "zh": "只有本群管理员可以更改本群的订阅。",
    },
    "topics": {
        "en": "Tap a topic to follow or unfollow it (✅ = following):",
        "zh": "点击话题以关注或取消关注（✅ = 已关注）：",
    },
    "no_topics": {"en": "There are no topics.", "zh": "没有可选话题。"},
    "follow_usage": {
        "en": "Usage: /follow NAME, for example /follow Alipay or /follow 央行",
        "zh": "用法：/follow 名称，例如 /follow 支付宝 或 /follow 央行",
    },
    "unfollow_usage": {
        "en": "Usage: /unfollow NAME (see /list)",
        "zh": "用法：/unfollow 名称（见 /list）",
    },
    "unknown_entity": {
        "en": "I don't know “{name}”. Try a company, regulator or term such as "
        "Alipay, PBoC, Binance, OTC, stablecoin.",
        "zh": "不认识“{name}”。请试试公司、机构或术语，例如 支付宝、央行、币安、场外交易、稳定币。",
    },
    "followed": {
        "en": (
            "Following {name}: you get every story that names it, whatever it is about, "
            "not only enforcement. Only its enforcement news? /unfollow {key}, then "
            "/watch {key} AND action. /list shows everything you follow."
        ),
        "zh": (
            "已关注 {name}：凡提到它的新闻都会提醒你，不限于监管执法。只要执法类新闻？"
            "先 /unfollow {key}，再 /watch {key} AND action。/list 查看全部关注。"
        ),
    },
    "already_following": {"en": "You already follow {name}.", "zh": "你已经关注了 {name}。"},
    "unfollowed": {"en": "Stopped following {name}.", "zh": "已取消关注 {name}。"},
    "not_following": {"en": "You don't follow {name}.", "zh": "你没有关注 {name}。"},
    "watch_usage": {
        "en": "Usage: /watch QUERY, for example /watch binance AND (OTC OR P2P) AND NOT price\n"
        'Words and "quoted phrases", AND, OR, NOT, parentheses, NEAR/5.',
        "zh": "用法：/watch 查询，例如 /watch 币安 AND (场外交易 OR P2P) AND NOT 价格\n"
        '支持词语和"引号短语"、AND、OR、NOT、括号、NEAR/5。',
    },
    "watch_too_long": {
        "en": "That query is {length} characters long; the limit is {limit}.",
        "zh": "查询长度为 {length} 个字符，上限是 {limit}。",
    },
    "watch_error": {
        "en": "That query has an error at character {position}: {error}",
        "zh": "查询第 {position} 个字符处有错误：{error}",
    },
    "watch_limit": {
        "en": "This chat already has {limit} queries, the most allowed. /unwatch one first.",
        "zh": "本聊天已有 {limit} 条查询，已达上限。请先用 /unwatch 删除一条。",
    },
    "watching": {
        "en": "Watching: {query}\nIn the last 7 days it would have matched {count} stories.",
        "en_one": "Watching: {query}\nIn the last 7 days it would have matched 1 story.",
        "zh": "已添加查询：{query}\n过去 7 天内会匹配 {count} 条新闻。",
    },
    "watching_partial": {
        "en": "Watching: {query}\nIn the last 7 days it would have matched at least {count} "
        "stories (only the newest {checked} that may match were checked).",
        "zh": "已添加查询：{query}\n过去 7 天内至少会匹配 {count} 条新闻"
        "（只检查了最新的 {checked} 条候选新闻）。",
    },
    "already_watching": {
        "en": "You already watch that query.",
        "zh": "你已经有这条查询了。",
    },
    "unwatch_usage": {
        "en": "Usage: /unwatch N, where N is a query's number in /list",
        "zh": "用法：/unwatch 编号（/list 中查询的编号）",
    },
    "unwatched": {"en": "Removed query: {query}", "zh": "已删除查询：{query}"},
    "list_empty": {
        "en": "This chat follows nothing. /start subscribes it to the main topic.",
        "zh": "本聊天没有任何关注。/start 订阅主话题。",
    },
    "list_topics": {"en": "Topics:", "zh": "话题："},
    "list_entities": {"en": "Following:", "zh": "关注："},
    "list_queries": {
        "en": "Queries (/unwatch N removes one):",
        "zh": "查询（/unwatch 编号 删除）：",
    },
    "lang_usage": {"en": "Usage: /lang en or /lang zh", "zh": "用法：/lang en 或 /lang zh"},
    "lang_set": {"en": "I will reply in English.", "zh": "我会用中文回复。"},
    "search_usage": {
        "en": (
            'Usage: /search QUERY, e.g. /search okx AND license, /search "P2P desk" AND NOT price'
        ),
        "zh": '用法：/search 查询，例如 /search 币安 AND 牌照、/search "场外交易" AND NOT 价格',
    },
    "search_empty": {
        "en": "No stored story matches {query}.",
        "zh": "没有已存的新闻匹配 {query}。",
    },
    "search_count": {
        "en": "{start}–{end} of {total}, best first",
        "zh": "第 {start}–{end} 条，共 {total} 条，按相关度排序",
    },
    "more_sources": {"en": "+{n} sources", "en_one": "+1 source", "zh": "另有 {n} 家"},
    "latest_empty": {"en": "No matched stories yet.", "zh": "还没有匹配的新闻。"},
    "latest_usage": {
        "en": "Usage: /latest or /latest N (N up to {limit})",
        "zh": "用法：/latest 或 /latest N（N 最多 {limit}）",
    },
    "mute_usage": {
        "en": "Usage: /mute 30m, /mute 2h or /mute 1d (30m to 30d). /unmute ends it.",
        "zh": "用法：/mute 30m、/mute 2h 或 /mute 1d（30m 至 30d）。/unmute 取消。",
    },
    "muted": {
        "en": "Muted until {until}. Alerts are held and arrive when the mute ends. /unmute",
        "zh": "已静音至 {until}。期间的提醒会保留，静音结束后送达。/unmute 取消",
    },
    "unmuted": {"en": "Unmuted.", "zh": "已取消静音。"},
    "quiet_usage": {
        "en": "Usage: /quiet 23:00-07:00 (in your /tz), or /quiet off",
        "zh": "用法：/quiet 23:00-07:00（按你的 /tz 时区），或 /quiet off",
    },
    "quiet_set": {
        "en": "Quiet hours {start}-{end} ({tz}): alerts are held until {end}.",
        "zh": "免打扰时段 {start}-{end}（{tz}）：期间的提醒会在 {end} 送达。",
    },
    "quiet_off": {"en": "Quiet hours off.", "zh": "已关闭免打扰时段。"},
    "tz_usage": {
        "en": "Usage: /tz Asia/Shanghai (an IANA time zone name)",
        "zh": "用法：/tz Asia/Shanghai（IANA 时区名）",
    },
    "tz_unknown": {
        "en": "I don't know the time zone “{name}”. Try Asia/Shanghai, Asia/Hong_Kong, UTC.",
        "zh": "不认识时区“{name}”。试试 Asia/Shanghai、Asia/Hong_Kong、UTC。",
    },
    "tz_set": {
        "en": "Time zone set to {name} (it is {now} there).",
        "zh": "时区已设为 {name}（当地时间 {now}）。",
    },
    "digest_header": {"en": "Digest: {count} new", "zh": "摘要：{count} 条新消息"},
    "tz_current": {
        "en": "Your time zone is {name} (it is {now} there). Change it: /tz Asia/Shanghai",
        "zh": "你的时区是 {name}（当地时间 {now}）。修改：/tz Asia/Shanghai",
    },
    "quiet_current": {
        "en": "Quiet hours {start}-{end} ({tz}). Change them: /quiet 23:00-07:00, or /quiet off",
        "zh": "免打扰时段 {start}-{end}（{tz}）。修改：/quiet 23:00-07:00，或 /quiet off",
    },
    "quiet_none": {
        "en": "No quiet hours. Set them: /quiet 23:00-07:00 (in your /tz)",
        "zh": "未设免打扰时段。设置：/quiet 23:00-07:00（按你的 /tz 时区）",
    },
    "digest_current": {
        "en": "Digest: {mode}. Change it: /digest off, /digest hourly or /digest daily 08:00",
        "zh": "摘要：{mode}。修改：/digest off、/digest hourly 或 /digest daily 08:00",
    },
    "settings": {
        "en": (
            "Your settings\n"
            "Language: {lang} (/lang)\n"
            "Time zone: {tz} (/tz)\n"
            "Quiet hours: {quiet} (/quiet)\n"
            "Mute: {mute} (/mute, /unmute)\n"
            "Digest: {digest} (/digest)\n"
            "Every source: {every} (/everysource)\n"
            "Following: {following} (/list)"
        ),
        "zh": (
            "你的设置\n"
            "语言：{lang}（/lang）\n"
            "时区：{tz}（/tz）\n"
            "免打扰：{quiet}（/quiet）\n"
            "静音：{mute}（/mute、/unmute）\n"
            "摘要：{digest}（/digest）\n"
            "每个来源：{every}（/everysource）\n"
            "关注：{following}（/list）"
        ),
    },
    "settings_off": {"en": "off", "zh": "关闭"},
    "settings_on": {"en": "on", "zh": "开启"},
    "settings_until": {"en": "until {until}", "zh": "至 {until}"},
    "settings_hourly": {"en": "hourly", "zh": "每小时"},
    "settings_daily": {"en": "daily at {at}", "zh": "每日 {at}"},
    "settings_following": {
        "en": "topics {topics}, names {entities}, queries {queries}",
        "zh": "{topics} 个话题、{entities} 个名称、{queries} 条查询",
    },
    "timeline_usage": {
        "en": "Usage: /timeline NAME, e.g. /timeline Binance or /timeline 央行",
        "zh": "用法：/timeline 名称，例如 /timeline 币安 或 /timeline 央行",
    },
    "timeline_empty": {
        "en": "No stored events about {name} yet.",
        "zh": "还没有关于 {name} 的已存事件。",
    },
    "everysource_usage": {
        "en": "Usage: /everysource on (an alert from every source) or off (one alert per event)",
        "zh": "用法：/everysource on（每个来源一条提醒）或 off（每个事件一条提醒）",
    },
    "everysource_on": {
        "en": "You will get an alert from every source that reports an event.",
        "zh": "每个来源报道同一事件时，你都会收到提醒。",
    },
    "everysource_off": {
        "en": "One alert per event: other sources are added to it as they report.",
        "zh": "每个事件一条提醒：其他来源报道后会补充到这条提醒里。",
    },
    "digest_usage": {
        "en": "Usage: /digest off, /digest hourly, or /digest daily 08:00 (in your /tz)",
        "zh": "用法：/digest off、/digest hourly 或 /digest daily 08:00（按你的 /tz 时区）",
    },
    "digest_off": {
        "en": "Digest off: each alert is sent as it comes.",
        "zh": "已关闭摘要：每条提醒即时发送。",
    },
    "digest_hourly": {
        "en": "Hourly digest: alerts are collected and sent together at the top of each hour.",
        "zh": "每小时摘要：提醒会汇总，在每个整点一起发送。",
    },
    "digest_daily": {
        "en": "Daily digest at {at} ({tz}): alerts are collected and sent together then.",
        "zh": "每日摘要 {at}（{tz}）：提醒会汇总，届时一起发送。",
    },
    "stats": {
        "en": (
            "Chats: {active} active, {inactive} inactive\n"
            "Stories today: {stories}, matched: {matched}\n"
            "Deliveries: {pending} pending, {sent} sent, {failed} failed, {skipped} skipped, "
            "{rate_limited} 429s"
        ),
        "zh": (
            "聊天：{active} 个活跃，{inactive} 个停用\n"
            "今天：{stories} 条新闻，{matched} 条匹配\n"
            "投递：{pending} 待发，{sent} 已发，{failed} 失败，"
            "{skipped} 跳过，{rate_limited} 次 429"
        ),
    },
    "sources_empty": {"en": "No sources configured.", "zh": "没有配置任何来源。"},
    "pause_usage": {
        "en": "Usage: /pause KEY or /resume KEY",
        "zh": "用法：/pause 键 或 /resume 键",
    },
    "no_source": {"en": "No source “{key}”. /sources lists them.", "zh": "没有来源“{key}”。"},
    "paused": {"en": "Paused {key}: it will not be polled.", "zh": "已暂停 {key}。"},
    "resumed": {"en": "Resumed {key}.", "zh": "已恢复 {key}。"},
    "broadcast_usage": {"en": "Usage: /broadcast TEXT", "zh": "用法：/broadcast 内容"},
    "broadcast_queued": {
        "en": "Queued for {count} chats.",
        "en_one": "Queued for 1 chat.",
        "zh": "已排队发送给 {count} 个聊天。",
    },
}

_USER = [
    ("start", "Subscribe to alerts", "订阅提醒"),
    ("topics", "Choose topics", "选择话题"),
    ("follow", "Follow a company, regulator or term", "关注公司、机构或术语"),
    ("unfollow", "Stop following", "取消关注"),
    ("watch", "Add your own query", "添加自定义查询"),
    ("unwatch", "Remove a query", "删除查询"),
    ("list", "What this chat follows", "本聊天的关注"),
    ("latest", "Latest matched stories", "最新匹配新闻"),
    ("search", "Search stored stories", "搜索已存新闻"),
    ("timeline", "Latest events about a name", "某名称的最新事件"),
    ("mute", "Hold alerts for a while", "暂时静音"),
    ("unmute", "End the mute", "取消静音"),
    ("quiet", "Quiet hours", "免打扰时段"),
    ("tz", "Your time zone", "你的时区"),
    ("settings", "Your settings", "你的设置"),
    ("digest", "Digest: off, hourly or daily", "摘要：关闭、每小时或每日"),
    ("everysource", "Every source, or one alert per event", "每个来源或每个事件一条"),
    ("lang", "Reply language (en/zh)", "回复语言 (en/zh)"),
    ("help", "List commands", "命令列表"),
    ("stop", "Unsubscribe and delete data", "取消订阅并删除数据"),
]

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [(name, en) for name, en, _ in _USER],
    "zh": [(name, zh) for name, _, zh in _USER],
}


def language_of(code: str | None) -> str:
    """Telegram's language_code zh, zh-hans, zh-TW... -> 'zh'; anything else -> 'en'."""
    return "zh" if code and code.lower().startswith("zh") else "en"


def text(key: str, lang: str, /, **values: object) -> str:
    """The text `key` in `lang`; an `{lang}_one` variant when the count (`count` or `n`) is 1."""
    variants = TEXTS[key]
    template = variants.get(lang, variants["en"])
    if values.get("count", values.get("n")) == 1:
        template = variants.get(f"{lang}_one", template)
    return template.format(**values) if values else template


# What crawler.rules says is wrong with a query, in Chinese (its messages are English).
_RULE_ERRORS_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"rule ends too early, expected .*"), "查询不完整，此处缺少名称、短语或“(”"),
    (re.compile(r"unterminated quoted phrase"), "引号没有闭合"),
    (re.compile(r"empty rule"), "查询为空"),
    (re.compile(r"empty phrase"), "引号内为空"),
    (re.compile(r"missing '\)'"), "缺少“)”"),
    (re.compile(r"rule nested too deeply"), "括号嵌套过深"),
    (re.compile(r"unexpected (.+)"), "此处不应出现 {0}"),
    (re.compile(r"unknown category or entity (.+)"), "不认识的类别或名称 {0}"),
    (re.compile(r"(\S+) distance must be 1 to (\d+)"), "{0} 的距离须在 1 到 {1} 之间"),
    (re.compile(r"(\S+) needs a name or a phrase on each side"), "{0} 两边都需要名称或短语"),
    (re.compile(r"rule longer than (\d+) characters"), "查询超过 {0} 个字符"),
]


def rule_error(message: str, lang: str) -> str:
    """A query error in the reader's language (English as the rules wrote it, else Chinese)."""
    if lang != "zh":
        return message
    for pattern, template in _RULE_ERRORS_ZH:
        found = pattern.fullmatch(message)
        if found:
            return template.format(*found.groups())
    return message
