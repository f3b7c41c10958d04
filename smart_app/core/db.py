"""The database extension: one engine and session factory per app, attached with init_app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every Flip table; constraint names are stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


WRITE_LOCK = "flip_write_lock"


class Database:
    """Created unbound, attached to an app with `init_app`."""

    def init_app(self, app: Flask, url: str) -> None:
        """Create the engine for `url` and remember it on the app."""
        _ensure_sqlite_folder(url)
        sqlite = url.startswith("sqlite")
        # A pooled network connection may have been dropped by the server: ping it first.
        # A SQLite file has no server to drop it, so that ping would be a wasted query.
        engine = create_engine(url, pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        app.extensions["flip_db"] = (engine, sessionmaker(engine, expire_on_commit=False))

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        engine: Engine = current_app.extensions["flip_db"][0]
        return engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        factory: sessionmaker[Session] = current_app.extensions["flip_db"][1]
        with factory() as session, session.begin():
            yield session

    @contextmanager
    def write_locked_session(self) -> Iterator[Session]:
        """A session for a read-modify-write: its reads already hold the write lock on SQLite.

        On PostgreSQL the caller's SELECT ... FOR UPDATE locks the row it reads.
        """
        factory: sessionmaker[Session] = current_app.extensions["flip_db"][1]
        with factory() as session, session.begin():
            session.connection(execution_options={WRITE_LOCK: True})
            yield session

    def answers(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self.session() as session:
                session.execute(text("select 1"))
        except SQLAlchemyError:
            return False
        return True


def upsert(session: Session, model: type[Base], values: dict[str, Any], *, key: str) -> None:
    """Insert a row, or update the one with the same `key` (its primary key), in one
    statement: no read first, no lock held between a read and a write, no race between
    two inserts (PostgreSQL and SQLite both have INSERT ... ON CONFLICT DO UPDATE)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(values)
    changed = {name: statement.excluded[name] for name in values if name != key}
    session.execute(statement.on_conflict_do_update(index_elements=[key], set_=changed))


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # SQLite is the single-machine default: WAL lets pages read while the outbox worker
    # writes, and synchronous=NORMAL skips an fsync per commit (WAL keeps it consistent).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # SQLite has no SELECT ... FOR UPDATE: a read-modify-write (a draft's change) must hold
    # the write lock from its first read, or two at once both read the old draft and one
    # edit is lost. `write_locked_session` begins with BEGIN IMMEDIATE, which takes it (the
    # others wait, up to busy_timeout). Every other transaction is left to the driver,
    # which begins one before the first write, so reads never hold a stale snapshot.
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#pysqlite-serializable
    if connection.get_execution_options().get(WRITE_LOCK, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.endswith(":memory:"):
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


db = Database()
