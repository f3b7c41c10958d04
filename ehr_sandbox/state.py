"""The per-app state every sandbox module reaches through `current_state()`."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ehr_sandbox.config import SandboxSettings
from ehr_sandbox.db import Database

EXTENSION_KEY = "ehr_sandbox"


@dataclass(slots=True)
class SandboxState:
    """Settings and database of one sandbox app."""

    settings: SandboxSettings
    db: Database


def current_state() -> SandboxState:
    """The state of the sandbox app handling the current request."""
    state: SandboxState = current_app.extensions[EXTENSION_KEY]
    return state
