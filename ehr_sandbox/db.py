"""The sandbox's own database: one declarative base for FHIR storage and the auth server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from ehr_sandbox.config import ensure_sqlite_dir

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every sandbox table (prefixed `sandbox_` so it can share a database)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    """An engine and a session factory; the sandbox creates its tables itself."""

    def __init__(self, url: str) -> None:
        ensure_sqlite_dir(url)
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock()

    def create_all(self) -> None:
        """Create missing tables (the sandbox is a dev tool: no migrations)."""
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session for FHIR writes, one at a time.

        A conditional create is a search then an insert: two at once (a late request and
        its client's retry) would both find nothing and both insert. Real servers close
        that gap with a unique index on the condition (HAPI's conditional-URL index); the
        sandbox, one process, serialises its writes.
        """
        with self._write_lock, self.session() as session:
            yield session


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets the threaded dev server read while another request writes.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
