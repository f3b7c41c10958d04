"""Fixtures for Flip's app: apps whose database engines are closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from smart_app import create_app

MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app() -> Iterator[MakeApp]:
    """Build apps from a test config (env=testing unless given); close their pools after."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app({"env": "testing", **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["flip_db"][0].dispose()
