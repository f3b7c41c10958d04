"""A fake HTTP transport for unit tests: canned responses, and a record of what was sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter

Responder = Callable[[requests.PreparedRequest], tuple[int, Any]]


class FakeWire(BaseAdapter):
    """Answers requests by URL from canned responders and records each request."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[tuple[str, str], Responder] = {}
        self.sent: list[requests.PreparedRequest] = []

    def on(self, method: str, url: str, responder: Responder | tuple[int, Any]) -> None:
        """Answer `method url` with a status and JSON body, or a function of the request."""
        self.routes[(method, url)] = (
            responder if callable(responder) else (lambda _request, fixed=responder: fixed)
        )

    def session(self) -> requests.Session:
        """A requests session whose every request goes over this wire."""
        session = requests.Session()
        session.mount("http://", self)
        session.mount("https://", self)
        return session

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        url = (request.url or "").split("?")[0]
        responder = self.routes.get((request.method or "GET", url))
        status, body = responder(request) if responder else (404, {"error": "not routed"})
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to close."""
