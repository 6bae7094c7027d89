"""The daemon's moving parts: polling, crawling, the pipeline, the bot link, metrics."""
