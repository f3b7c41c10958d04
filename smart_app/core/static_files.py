"""Static files cached for a year, each URL named by its content (`?v=<hash>`).

A page then fetches its CSS and scripts once per release instead of revalidating each on
every launch: a changed file gets a new URL, so no browser keeps a stale copy. Every
static URL comes from `url_for`, which adds the version here.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask

ONE_YEAR_S = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    """Version every `static` endpoint's URLs and let browsers keep the files."""
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = ONE_YEAR_S

    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static" and not endpoint.endswith(".static"):
            return
        blueprint = endpoint.rpartition(".")[0]
        folder = app.blueprints[blueprint].static_folder if blueprint else app.static_folder
        filename = values.get("filename")
        if folder and isinstance(filename, str):
            values.setdefault("v", _version(Path(folder, filename)))

    app.url_defaults(add_version)


@lru_cache(maxsize=256)
def _version(path: Path) -> str:
    # Read once per process: the files change only with a release, which restarts Flip.
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"
