"""Fixtures shared by every test: databases on SQLite and PostgreSQL, a live sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from ehr_sandbox.app import create_app as create_sandbox_app
from ehr_sandbox.state import EXTENSION_KEY, SandboxState
from tests.support.databases import postgres_error, postgres_url, sqlite_url
from tests.support.live_server import serve

# CI sets FLIP_REQUIRE_POSTGRES=1: there an unreachable PostgreSQL fails the run.
REQUIRE_POSTGRES = os.environ.get("FLIP_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def _postgres_checked() -> None:
    error = postgres_error()
    if error is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required here but unreachable: {error}")
    pytest.skip(f"PostgreSQL unreachable ({error}); CI runs these")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        with sqlite_url(tmp_path) as url:
            yield url
    else:
        request.getfixturevalue("_postgres_checked")
        with postgres_url() as url:
            yield url


@dataclass(frozen=True, slots=True)
class LiveSandbox:
    """A sandbox EHR served over real HTTP."""

    app: Flask
    url: str

    @property
    def fhir_base(self) -> str:
        return f"{self.url}/fhir"

    @property
    def open_fhir_base(self) -> str:
        return f"{self.url}/open/fhir"


def start_sandbox(database_url: str, **settings: object) -> Iterator[LiveSandbox]:
    """Serve a sandbox on a free port with these settings."""
    holder: dict[str, Flask] = {}

    def build(port: int) -> Flask:
        holder["app"] = create_sandbox_app(
            {"public_url": f"http://localhost:{port}", "database_url": database_url, **settings}
        )
        return holder["app"]

    with serve(build) as port:
        yield LiveSandbox(app=holder["app"], url=f"http://localhost:{port}")
    sandbox_state(holder["app"]).db.dispose()


@pytest.fixture
def sandbox(database_url: str) -> Iterator[LiveSandbox]:
    """A live sandbox EHR on SQLite and on PostgreSQL."""
    yield from start_sandbox(database_url)


def sandbox_state(app: Flask) -> SandboxState:
    """The settings and database of a sandbox app."""
    state: SandboxState = app.extensions[EXTENSION_KEY]
    return state
