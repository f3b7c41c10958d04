"""Alembic environment: Flip's metadata, the URL from the caller or FLIP_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from smart_app.core import models  # noqa: F401  (registers every table on the metadata)
from smart_app.core.config import Settings, env_name
from smart_app.core.db import Base


def _database_url() -> str:
    import os

    configured = context.config.get_main_option("sqlalchemy.url")
    return configured or os.environ.get(env_name("database_url"), Settings().database_url)


def run_migrations() -> None:
    """Apply migrations on a live connection (no offline SQL mode)."""
    engine = create_engine(_database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
