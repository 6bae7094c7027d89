"""Collect and judge stories: feeds, pages, normalisation and the filter.

This package knows no database: state (ETag, Last-Modified, what was seen)
comes in as arguments and goes out as return values.
"""

from crawler import compiled as _compiled

_compiled.install()  # a compiled matcher runs only while it matches matcher.py
