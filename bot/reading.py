"""Reading what was found: /latest."""

from __future__ import annotations

import re
from html import escape

from bot.formatting import display_text, happened_line, linked, source_name
from bot.request import Deps, Request
from storage import archive


async def latest(deps: Deps, request: Request) -> None:
    """The latest matched stories, as linked titles with source and date."""
    limit = deps.settings.latest_max
    argument = request.argument.strip()
    if argument and not (re.fullmatch("[0-9]{1,3}", argument) and 1 <= int(argument) <= limit):
        await request.reply("latest_usage", limit=limit)
        return
    count = int(argument) if argument else 5
    with deps.db.session() as session:
        stories = archive.latest_matched(session, count)
    if not stories:
        await request.reply("latest_empty")
        return
    labels = deps.labels.get(request.lang, {})
    lines = []
    for n, s in enumerate(stories, 1):
        lines.append(
            f"{n}. {linked(s.url, display_text(s.title[:200]))}"
            f" · {source_name(s.source_key, labels)} · {s.published_at:%Y-%m-%d}"
        )
        happened = happened_line(s.actions, s.actors, request.lang, labels)
        if happened:  # what happened and who acted, as the alert said it
            lines.append(f"   {escape(happened, quote=False)}")
    await request.reply_html("\n".join(lines))
