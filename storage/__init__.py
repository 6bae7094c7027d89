"""Persistence: SQLAlchemy 2 models, the queries the app needs, migrations.

SQLite (WAL) by default; any SQLAlchemy URL otherwise.
"""
