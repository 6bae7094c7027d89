"""`crackdown export`: matched stories as CSV or JSON lines, for spreadsheets and notebooks."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import TextIO

from crackdown.app import App
from crackdown.commands.search import parse_since
from crackdown.console.progress import Meter
from storage.export import ExportRow, export_rows

COLUMNS = (
    "story_id",
    "published_at",
    "source",
    "title",
    "url",
    "lang",
    "entities",
    "topics",
    "score",
    "cluster_id",
    "sources",
)


def _record(row: ExportRow) -> dict[str, object]:
    return {
        "story_id": row.story_id,
        "published_at": row.published_at.astimezone(UTC).isoformat(),
        "source": row.source,
        "title": row.title,
        "url": row.url,
        "lang": row.lang,
        "entities": list(row.entities),
        "topics": list(row.topics),
        "score": row.score,
        "cluster_id": row.cluster_id,
        "sources": list(row.sources),
    }


def export_command(
    app: App, *, since: str, until: str | None, fmt: str, out: TextIO, err: TextIO
) -> int:
    """Write every flagged story published in the period; 2 for a bad date."""
    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
        end = parse_since(until, now) if until else None
    except ValueError as exc:
        print(f"crackdown: --since/--until: {exc}", file=err)
        return 2
    count = 0
    meter = Meter(err, "stories exported")
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    with app.db.session() as session:
        for row in export_rows(session, start, end):
            record = _record(row)
            if writer is not None:  # lists as space-separated keys: one cell each
                writer.writerow(
                    {
                        k: " ".join(map(str, v)) if isinstance(v, list) else v
                        for k, v in record.items()
                    }
                )
            else:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            meter.step()
    meter.close()
    print(f"{count} stories exported", file=err)
    return 0
