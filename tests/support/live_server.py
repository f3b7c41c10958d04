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


class LiveServer:
    """A server bound to a free port now, serving an app built later (see `start`)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._deferred = _Deferred()
        self._server: BaseWSGIServer = make_server(host, 0, self._deferred, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self, app: WsgiApp) -> None:
        """Serve `app` from now on."""
        self._deferred.app = app
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


@contextmanager
def serve(build: Callable[[int], WsgiApp], *, host: str = "127.0.0.1") -> Iterator[int]:
    """Bind a free port, build the app knowing that port, serve it; yield the port."""
    server = LiveServer(host)
    try:
        server.start(build(server.port))
        yield server.port
    finally:
        server.stop()
