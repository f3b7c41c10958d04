"""`/launch` and `/callback`: the SMART App Launch redirects, inside the EHR's frame."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from smart_app.core.registry import service
from smart_app.session.binding import BROWSER_COOKIE, answer_for, posted_from_flip
from smart_app.session.launches import LaunchService, OpenLaunch
from smart_app.session.roles import landing_endpoint

COOKIE_CHECK = "flip_cookies"  # the name launch.js looks for (session/static/launch.js)

bp = Blueprint(
    "session",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/session",
)


@bp.get("/launch")
def start() -> Response:
    """Start an EHR launch (`iss` + `launch`) or a standalone launch (`iss` only)."""
    browser_id = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
    started = service(LaunchService).start(
        request.args.get("iss"), request.args.get("launch"), browser_id=browser_id
    )
    if request.cookies.get(COOKIE_CHECK) and request.cookies.get(BROWSER_COOKIE):
        # This frame kept Flip's cookies from an earlier launch: they bind this one too,
        # so the browser goes straight to the EHR's sign-in.
        response: Response = redirect(started.authorize_url)  # type: ignore[assignment]
    else:
        # A page, not a 302: it first keeps the binding in this tab's sessionStorage, for
        # browsers that drop even partitioned cookies in a cross-site frame (launch.js).
        response = Response(
            render_template(
                "session/launch_redirect.html",
                authorize_url=started.authorize_url,
                state=started.state,
                binding=started.binding,
                page_lang=str(get_locale()),
            )
        )
    _remember_browser(response, browser_id)
    return response


@bp.route("/callback", methods=["GET", "POST"])
def callback() -> Response:
    """Finish the launch: the cookie or the tab's sessionStorage proves the browser."""
    posted = request.method == "POST"
    params = {k: v for k, v in (request.form if posted else request.args).items()}
    # The binding comes only from this tab's sessionStorage, posted by Flip's own page:
    # one in a link, or posted by another site, would complete a stranger's launch here.
    binding = params.pop("binding", None) if posted and posted_from_flip() else None
    params.pop("binding", None)
    browser_id = request.cookies.get(BROWSER_COOKIE)
    finished = service(LaunchService).finish(
        params, browser_id=browser_id, binding=binding, tab_may_prove=not posted
    )
    if finished is None:
        # No matching cookie (dropped in the frame): ask the tab for its stored binding.
        return Response(render_template("session/launch_callback.html", params=params))
    # By role: a patient or parent lands on the pre-visit form, a clinician on the visit.
    # A launch on a tablet still handed to the patient (launches.py) lands on their form.
    endpoint = "previsit.form" if finished.handover else landing_endpoint(finished.context)
    landing = url_for(endpoint, launch_id=finished.launch_id)
    if posted or endpoint == "previsit.form":
        # The tab posted its binding: a redirect, so that a reload never posts it again.
        # A patient's or parent's form too: in a browser without JavaScript, Back and
        # reload then ask for the form, never for this single-use callback again.
        return redirect(landing, code=303)  # type: ignore[return-value]
    return _answer_in_place(landing, finished)


def _answer_in_place(path: str, opened: OpenLaunch) -> Response:
    """The page at `path`, answered now rather than redirected to: the launch takes one
    request fewer. The page names its own address and flip-tab.js puts that in the address
    bar, so a reload asks for the page, never for this single-use callback again."""
    environ = {
        **request.environ,
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.removeprefix(request.script_root),
        "QUERY_STRING": "",
        **answer_for(opened),
    }
    # Its own app context too: nothing of this request's `g` leaks into the page's.
    with current_app.app_context(), current_app.request_context(environ):
        return current_app.full_dispatch_request()


def _remember_browser(response: Response, browser_id: str) -> None:
    # Partitioned (CHIPS) so it still works in the EHR's cross-site frame; SameSite=None
    # because the callback arrives from the EHR's site; HttpOnly: scripts never read it.
    # Its twin, readable and secret-free, lets launch.js see whether this frame keeps
    # cookies at all.
    for name, value, httponly in ((BROWSER_COOKIE, browser_id, True), (COOKIE_CHECK, "1", False)):
        response.set_cookie(
            name,
            value,
            max_age=12 * 3600,
            secure=True,
            httponly=httponly,
            samesite="None",
            partitioned=True,
        )
