"""Binding a capability's routes to one launch: `/l/<launch id>/...` opens that launch.

Every route under the prefix opens its launch before it runs, and only for the browser
that completed it (launches.py): the request carries that browser's partitioned cookie,
or its tab's binding from sessionStorage, which flip-tab.js adds to every API call
(`X-Flip-Tab`) and form post (`flip_tab`). A page asked for without either is answered
with a small page that holds nothing of the patient: its script posts the tab's binding
back to the same URL, and a tab without one is refused. An API route (`.../api/...`)
must also carry the page's `X-Flip-Launch` secret (docs/openapi.yaml). Capabilities
above `session` bind their blueprint with `bind_to_launch` and find the open launch in
`g.launch`; their page routes accept POST for that proof.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, render_template, request

from smart_app.core.registry import service
from smart_app.core.validation import check_json_body
from smart_app.core.vault import Vault
from smart_app.session.launches import LaunchNotFound, LaunchNotProven, LaunchService, OpenLaunch

LAUNCH_PREFIX = "/l/<launch_id>"
BROWSER_COOKIE = "flip_browser"
API_TOKEN_HEADER = "X-Flip-Launch"  # noqa: S105 (a header name)
TAB_HEADER = "X-Flip-Tab"
TAB_FIELD = "flip_tab"
JUST_FINISHED = "flip.just_finished_launch"


class ApiTokenMissing(LaunchNotFound):
    """An API call without this launch's X-Flip-Launch secret."""

    advice = "Reload Flip from the chart; API calls need the page's X-Flip-Launch header."


def bind_to_launch(
    bp: Blueprint,
    *,
    check_user: Callable[[OpenLaunch], None],
    without_proof: frozenset[str] = frozenset(),
) -> None:
    """Open the launch of each of `bp`'s `/l/<launch_id>` routes; keep its id in url_for.

    `check_user` refuses a launch whose signed-in user may not use `bp` (roles.py).
    `without_proof` names endpoints that show nothing of the patient (the EHR's styling,
    fetched by a stylesheet link that cannot carry the tab's binding).
    """

    def open_launch(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values is None or "launch_id" not in values:
            return  # the blueprint's static files belong to no launch
        launch_id = values.pop("launch_id")
        is_api = is_api_request()
        if not is_api and request.method == "POST" and not posted_from_flip():
            # A form posted from another site, riding this browser's cookie (CSRF).
            raise LaunchNotProven("a form posted from another site")
        try:
            g.launch = _just_finished(launch_id) or service(LaunchService).open(
                launch_id,
                browser_id=request.cookies.get(BROWSER_COOKIE),
                tab_binding=request.headers.get(TAB_HEADER) if is_api else _posted_tab(),
                require_browser=endpoint not in without_proof,
            )
        except LaunchNotProven:
            if is_api or request.method != "GET":
                raise
            # Perhaps a frame without cookies: let the tab prove itself (flip-tab.js).
            page = render_template("session/prove_tab.html")
            abort(Response(page, headers={"Cache-Control": "no-store"}))
        check_user(g.launch)
        if is_api:
            token = request.headers.get(API_TOKEN_HEADER)
            if not service(Vault).check_api_token(g.launch.launch_id, token):
                raise ApiTokenMissing("missing or wrong X-Flip-Launch header")
            check_json_body(lambda: request.get_json(silent=True))

    bp.url_value_preprocessor(open_launch)
    bp.url_defaults(_keep_launch_id)


def answer_for(finished: OpenLaunch) -> dict[str, Any]:
    """What a callback adds to the environ of the page it answers with, for that page to
    take the launch it just completed (its browser proven there) without reading it back.
    Only the server sets the environ: no request can carry this."""
    return {JUST_FINISHED: finished}


def _just_finished(launch_id: str) -> OpenLaunch | None:
    finished = request.environ.get(JUST_FINISHED)
    return (
        finished if isinstance(finished, OpenLaunch) and finished.launch_id == launch_id else None
    )


def _posted_tab() -> str | None:
    if request.method != "POST" or not posted_from_flip():
        return None
    return request.form.get(TAB_FIELD)


def is_api_request() -> bool:
    """Whether the request is for Flip's JSON API (`.../api` or `.../api/...`): a path
    segment, never a substring, for a launch id may begin with "api"."""
    return "api" in request.path.split("/")


def posted_from_flip() -> bool:
    """Whether a form post comes from Flip's own pages, not another site (CSRF)."""
    # Browsers send Sec-Fetch-Site and Origin on every POST; a client sending neither is
    # no browser another site could drive.
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def _keep_launch_id(endpoint: str, values: dict[str, Any]) -> None:
    expects = current_app.url_map.is_endpoint_expecting(endpoint, "launch_id")
    if expects and "launch_id" not in values and "launch" in g:
        values["launch_id"] = g.launch.launch_id
