"""Request lines in the server's access log, with nothing a stranger could use.

A launch id in `/l/<launch id>/...` opens a patient's visit in the browser that holds it,
and a callback's query carries the authorization code: neither may reach a log file. The
line keeps the method, the route and the status (werkzeug's log; gunicorn writes none
unless asked, see `flip serve`).
"""

from __future__ import annotations

import logging
import re

_LAUNCH_ID = re.compile(r"/l/[^/\s?]+")
_QUERY = re.compile(r"\?[^\s\x1b]*")


class RouteOnly(logging.Filter):
    """Rewrites werkzeug's request line to its route: no launch id, no query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, with its request line reduced to the route."""
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            line = _QUERY.sub("", _LAUNCH_ID.sub("/l/<launch>", record.args[0]))
            record.args = (line, *record.args[1:])
        return True


def install() -> None:
    """Filter the werkzeug logger's request lines (once per process)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RouteOnly) for f in logger.filters):
        logger.addFilter(RouteOnly())
