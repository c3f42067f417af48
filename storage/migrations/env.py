"""Alembic environment: runs migrations on the engine handed over by :mod:`storage.db`."""

from alembic import context

from storage.models import Base, include_in_comparison

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_in_comparison,
    )
    context.run_migrations()
