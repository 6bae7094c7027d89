"""Persistence: SQLAlchemy 2 models, the queries the app needs, migrations.

SQLite (WAL) by default; PostgreSQL (psycopg 3) for a database that several daemons share.
"""
