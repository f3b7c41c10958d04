"""The database: migrations build exactly the models' schema; health reports the database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from smart_app.core import models
from smart_app.core.db import Base
from smart_app.core.migrate import upgrade
from tests.app.conftest import MakeApp


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    assert models.AuditEvent.__tablename__ in Base.metadata.tables


def test_health_reports_a_reachable_database(database_url: str, make_app: MakeApp) -> None:
    upgrade(database_url)
    app = make_app(database_url=database_url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_health_reports_an_unreachable_database(make_app: MakeApp) -> None:
    app = make_app(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
