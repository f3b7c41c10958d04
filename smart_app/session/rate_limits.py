"""Rate limits on the unauthenticated doors, `/launch` and `/callback`, per client address.

Anyone can call them before signing in, and each `/launch` stores a pending launch; so a
client address gets so many a minute (FLIP_LAUNCH_RATE_LIMIT, one budget per route) and
then a 429 page (smart_app/errors.py). The default counts in each process's memory; set
FLIP_RATE_LIMIT_STORAGE_URI (e.g. `redis://host:6379`) to share one count across workers
and hosts. Behind a reverse proxy the client address is the proxy's unless the proxy's
forwarded address is trusted (werkzeug's ProxyFix).
"""

from __future__ import annotations

from typing import Any, cast

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

LIMITED_ENDPOINTS = ("session.start", "session.callback")
EXTENSION_KEY = "flip_rate_limits"


def init_app(app: Flask, *, limit: str, storage_uri: str) -> Limiter:
    """Limit each of the launch routes to `limit` per client address (after blueprints)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri)
    for endpoint in LIMITED_ENDPOINTS:
        # Wrapped here, not decorated in views.py, so the limit comes from the settings.
        # (flask-limiter's typing widens the view to an async one: it is the same view.)
        limited = limiter.limit(limit)(app.view_functions[endpoint])
        app.view_functions[endpoint] = cast(Any, limited)
    app.extensions[EXTENSION_KEY] = limiter
    return limiter
