"""Run Alembic from code, so `flip db upgrade` works from an installed package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations


def alembic_config(database_url: str) -> Config:
    """An Alembic config for Flip's migrations against `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # '%' must be doubled in ConfigParser values (URL-encoded options contain it).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
