"""Binding a capability's routes to one launch: `/l/<launch id>/...` opens that launch.

Every route under the prefix opens its launch (from this browser) before it runs, and an
API route (`.../api/...`) must also carry the page's `X-Flip-Launch` secret
(docs/openapi.yaml). Capabilities above `session` bind their blueprint with
`bind_to_launch` and find the open launch in `g.launch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, request

from launch.context import LaunchContext
from smart_app.core.registry import service
from smart_app.core.validation import check_json_body
from smart_app.core.vault import Vault
from smart_app.session.launches import LaunchNotFound, LaunchService

LAUNCH_PREFIX = "/l/<launch_id>"
BROWSER_COOKIE = "flip_browser"
API_TOKEN_HEADER = "X-Flip-Launch"  # noqa: S105 (a header name)


class ApiTokenMissing(LaunchNotFound):
    """An API call without this launch's X-Flip-Launch secret."""

    advice = "Reload Flip from the chart; API calls need the page's X-Flip-Launch header."


def bind_to_launch(bp: Blueprint, *, check_user: Callable[[LaunchContext], None]) -> None:
    """Open the launch of each of `bp`'s `/l/<launch_id>` routes; keep its id in url_for.

    `check_user` refuses a launch whose signed-in user may not use `bp` (roles.py).
    """

    def open_launch(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values is None or "launch_id" not in values:
            return  # the blueprint's static files belong to no launch
        launch_id = values.pop("launch_id")
        g.launch = service(LaunchService).open(
            launch_id, browser_id=request.cookies.get(BROWSER_COOKIE)
        )
        check_user(g.launch.context)
        if "/api" in request.path:
            token = request.headers.get(API_TOKEN_HEADER)
            if not service(Vault).check_api_token(g.launch.launch_id, token):
                raise ApiTokenMissing("missing or wrong X-Flip-Launch header")
            check_json_body(lambda: request.get_json(silent=True))

    bp.url_value_preprocessor(open_launch)
    bp.url_defaults(_keep_launch_id)


def _keep_launch_id(endpoint: str, values: dict[str, Any]) -> None:
    expects = current_app.url_map.is_endpoint_expecting(endpoint, "launch_id")
    if expects and "launch_id" not in values and "launch" in g:
        values["launch_id"] = g.launch.launch_id
