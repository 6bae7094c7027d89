"""Spiders for sources without feeds: Scrapy, one subprocess per crawl batch.

A Twisted reactor cannot be restarted, so a daemon that crawls again and
again runs each batch in a child process (`python -m crawler.spiders.run`):

    launch.run_batch(job) --stdin JSON job--> run.main (Scrapy, the spiders)
                          <--stdout JSON lines-- events: page, item, error, done

Modules, one job each: `job` (what to crawl, plain data), `events` (what
comes back), `selectors` (CSS or XPath from config), `decoding` (page
bytes -> text, GBK without a charset included), `dates`, `article` (an
article page -> title, body, date, attachments), `listing` (the generic
config-driven spider), `notices` and `news` (dedicated spiders),
`settings` (our politeness as Scrapy settings), `run` (the child),
`launch` (the parent side: start, read, time out, kill).

This package knows no database: the URLs already stored come in with the
job, stories go out as events. Importing it does not import Scrapy.
"""

from __future__ import annotations

# `spider = "..."` in a source picks one of these (crawler.spiders.run.SPIDERS).
SPIDER_NAMES = ("listing", "gov-notices", "news-section")
