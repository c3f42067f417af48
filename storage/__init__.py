"""Mention database: SQLAlchemy models, Alembic migrations and the query functions.

Nothing outside this package writes SQL. Callers open a :class:`storage.db.Store` and pass it to
the functions in :mod:`storage.mentions` (writes) and :mod:`storage.query` (reads).
"""
