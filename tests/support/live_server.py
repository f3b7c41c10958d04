"""Serve a WSGI app over real HTTP on a free loopback port, in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

WsgiApp = Callable[..., Any]


class _Deferred:
    """Lets the server bind (and learn its port) before the app exists."""

    app: WsgiApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@contextmanager
def serve(build: Callable[[int], WsgiApp], *, host: str = "127.0.0.1") -> Iterator[int]:
    """Bind a free port, build the app knowing that port, serve it; yield the port."""
    deferred = _Deferred()
    server: BaseWSGIServer = make_server(host, 0, deferred, threaded=True)
    port = server.server_port
    deferred.app = build(port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
