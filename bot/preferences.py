"""When a chat wants alerts: /mute /unmute /quiet /tz. Held alerts wait, they are not dropped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot.hold import zone
from bot.request import Deps, Request
from bot.texts import text
from storage import subscribers

_MUTE = re.compile(r"^(\d{1,3})\s*([mhd])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
MIN_MUTE = timedelta(minutes=30)  # as /mute's usage and the README say
MAX_MUTE = timedelta(days=30)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_mute(value: str) -> timedelta | None:
    """'30m', '2h', '1d' (30 minutes to 30 days) -> a duration; anything else -> None."""
    match = _MUTE.match(value.strip().lower())
    if match is None:
        return None
    length = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    return length if MIN_MUTE <= length <= MAX_MUTE else None


def parse_clock(value: str) -> int | None:
    """'23:00' -> minutes after midnight."""
    match = _CLOCK.match(value.strip())
    return None if match is None else int(match.group(1)) * 60 + int(match.group(2))


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone name, by its lower-case form (so `asia/shanghai` works too)."""
    return {name.lower(): name for name in available_timezones()}


def zone_name(value: str) -> str | None:
    """The IANA zone `value` names, or None (a region like `Asia`, a path, anything else)."""
    return _zones().get(value.strip().lower())


def _set(deps: Deps, request: Request, **values: object) -> bool:
    with deps.db.session() as session:
        return subscribers.set_preferences(session, request.chat.id, **values)


async def mute(deps: Deps, request: Request) -> None:
    length = parse_mute(request.argument)
    if length is None:
        await request.reply("mute_usage")
        return
    until = datetime.now(UTC) + length
    if not _set(deps, request, muted_until=until):
        await request.reply("not_subscribed")
        return
    with deps.db.session() as session:
        prefs = subscribers.preferences(session, request.chat.id)
    tz = prefs[0] if prefs else "UTC"
    local = until.astimezone(zone(tz))
    await request.reply("muted", until=f"{local:%Y-%m-%d %H:%M} ({tz})")


async def unmute(deps: Deps, request: Request) -> None:
    if not _set(deps, request, muted_until=None):
        await request.reply("not_subscribed")
        return
    await request.reply("unmuted")


def _settings(deps: Deps, request: Request) -> subscribers.ChatSettings | None:
    with deps.db.session() as session:
        return subscribers.chat_settings(session, request.chat.id)


async def quiet(deps: Deps, request: Request) -> None:
    """/quiet 23:00-07:00 (in the chat's /tz), or /quiet off; no argument: the current hours."""
    argument = request.argument.strip().lower()
    if not argument:
        current = _settings(deps, request)
        if current is None:
            await request.reply("not_subscribed")
        elif current.quiet is None:
            await request.reply("quiet_none")
        else:
            start, end = current.quiet
            await request.reply(
                "quiet_current", start=clock(start), end=clock(end), tz=current.timezone
            )
        return
    if argument == "off":
        if not _set(deps, request, quiet_start=None, quiet_end=None):
            await request.reply("not_subscribed")
            return
        await request.reply("quiet_off")
        return
    start, _, end = argument.partition("-")
    first, last = parse_clock(start), parse_clock(end)
    if first is None or last is None or first == last:
        await request.reply("quiet_usage")
        return
    if not _set(deps, request, quiet_start=first, quiet_end=last):
        await request.reply("not_subscribed")
        return
    with deps.db.session() as session:
        prefs = subscribers.preferences(session, request.chat.id)
    await request.reply(
        "quiet_set", start=clock(first), end=clock(last), tz=prefs[0] if prefs else "UTC"
    )


async def set_timezone(deps: Deps, request: Request) -> None:
    """/tz Asia/Shanghai: an IANA zone name; quiet hours and alert times follow it."""
    typed = request.argument.strip()
    if not typed:  # the current zone
        current = _settings(deps, request)
        if current is None:
            await request.reply("tz_usage")
            return
        now = datetime.now(UTC).astimezone(zone(current.timezone))
        await request.reply("tz_current", name=current.timezone, now=f"{now:%H:%M}")
        return
    name = zone_name(typed)
    if name is None:  # ZoneInfo itself would raise on "Asia" (a directory) or a long name
        await request.reply("tz_unknown", name=typed[:64])
        return
    if not _set(deps, request, timezone=name):
        await request.reply("not_subscribed")
        return
    now = datetime.now(UTC).astimezone(ZoneInfo(name))
    await request.reply("tz_set", name=name, now=f"{now:%H:%M}")


async def digest(deps: Deps, request: Request) -> None:
    """/digest off | hourly | daily HH:MM; no argument: the current choice."""
    if not request.argument.strip():
        current = _settings(deps, request)
        if current is None:
            await request.reply("not_subscribed")
        else:
            await request.reply("digest_current", mode=_digest_mode(current, request.lang))
        return
    mode, _, at = request.argument.strip().lower().partition(" ")
    if mode in ("off", "hourly") and not at.strip():
        if not _set(deps, request, digest=mode, digest_at=None):
            await request.reply("not_subscribed")
            return
        await request.reply(f"digest_{mode}")
        return
    minutes = parse_clock(at) if mode == "daily" else None
    if minutes is None:
        await request.reply("digest_usage")
        return
    if not _set(deps, request, digest="daily", digest_at=minutes):
        await request.reply("not_subscribed")
        return
    with deps.db.session() as session:
        prefs = subscribers.preferences(session, request.chat.id)
    await request.reply("digest_daily", at=clock(minutes), tz=prefs[0] if prefs else "UTC")


async def every_source(deps: Deps, request: Request) -> None:
    """/everysource on: an alert from every source; off (default): one alert per event."""
    choice = request.argument.strip().lower()
    if choice not in ("on", "off"):
        await request.reply("everysource_usage")
        return
    if not _set(deps, request, every_source=choice == "on"):
        await request.reply("not_subscribed")
        return
    await request.reply(f"everysource_{choice}")


def _digest_mode(current: subscribers.ChatSettings, lang: str) -> str:
    if current.digest == "hourly":
        return text("settings_hourly", lang)
    if current.digest == "daily" and current.digest_at is not None:
        at = f"{clock(current.digest_at)} ({current.timezone})"
        return text("settings_daily", lang, at=at)
    return text("settings_off", lang)


async def settings(deps: Deps, request: Request) -> None:
    """/settings: language, time zone, quiet hours, mute, digest, every source, what it follows."""
    with deps.db.session() as session:
        current = subscribers.chat_settings(session, request.chat.id)
        following = subscribers.following(session, request.chat.id)
    if current is None:
        await request.reply("not_subscribed")
        return
    lang = request.lang
    tz = zone(current.timezone)
    off = text("settings_off", lang)
    quiet = off
    if current.quiet is not None:
        quiet = f"{clock(current.quiet[0])}-{clock(current.quiet[1])}"
    mute = off
    if current.muted_until is not None and current.muted_until > datetime.now(UTC):
        mute = text(
            "settings_until", lang, until=f"{current.muted_until.astimezone(tz):%Y-%m-%d %H:%M}"
        )
    kinds = [kind for kind, _ in following]
    await request.reply(
        "settings",
        lang=current.language,
        tz=current.timezone,
        quiet=quiet,
        mute=mute,
        digest=_digest_mode(current, lang),
        every=text("settings_on" if current.every_source else "settings_off", lang),
        following=text(
            "settings_following",
            lang,
            topics=kinds.count("topic"),
            entities=kinds.count("entity"),
            queries=kinds.count("query"),
        ),
    )
