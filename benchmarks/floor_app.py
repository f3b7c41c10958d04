"""The browser floor: the least a SMART app can do between an EHR launch and one line shown.

The chart frames it as it frames Flip (benchmarks/servers.py starts a second sandbox on
the same database whose `app_launch_url` is this app's `/launch`). It does only what the
spec requires (https://hl7.org/fhir/smart-app-launch/app-launch.html): the authorize
redirect with PKCE S256, the token exchange, and one FHIR batch of exactly Flip's
searches; then it shows the number one concern it read, as one line of text. No pages in
between, no database, no browser binding: whatever Flip's launch costs beyond this is
Flip's own. Endpoints are discovered once, when the app is created, as Flip caches them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask, Response, redirect, request
from flask.typing import ResponseReturnValue

from launch.gateway import FHIR_JSON

TIMEOUT_S = 60.0
# The pre-visit form's answer the agenda leads with (fhir_mappings/codes.py's form).
NUMBER_ONE_LINK_ID = "number-one-concern"


class FloorError(RuntimeError):
    """The floor's launch failed; the message says at which step."""


@dataclass(frozen=True, slots=True)
class _Pending:
    verifier: str
    launch: str


@dataclass(frozen=True, slots=True)
class FloorClient:
    """Who the floor is to the EHR, and what it fetches after its token."""

    iss: str
    client_id: str
    redirect_uri: str
    scope: str
    searches: Sequence[str]


def number_one_concern(resources: Iterable[dict[str, Any]], patient: str) -> str | None:
    """The patient's own latest number one concern among these resources, if any."""
    answers: list[tuple[str, str]] = []
    for resource in resources:
        if resource.get("resourceType") != "QuestionnaireResponse":
            continue
        if (resource.get("author") or {}).get("reference") != f"Patient/{patient}":
            continue
        for item in resource.get("item") or []:
            if item.get("linkId") == NUMBER_ONE_LINK_ID and item.get("answer"):
                text = item["answer"][0].get("valueString")
                if isinstance(text, str):
                    answers.append((str(resource.get("authored", "")), text))
    return max(answers)[1] if answers else None


def create_floor_app(client: FloorClient, *, http: requests.Session | None = None) -> Flask:
    """The floor's Flask app, its SMART endpoints discovered now from `client.iss`."""
    session = http or requests.Session()  # kept alive across launches, as Flip's pool is
    discovered = session.get(f"{client.iss}/.well-known/smart-configuration", timeout=TIMEOUT_S)
    discovered.raise_for_status()
    endpoints = discovered.json()
    authorize_url: str = endpoints["authorization_endpoint"]
    token_url: str = endpoints["token_endpoint"]
    pending: dict[str, _Pending] = {}
    lock = threading.Lock()
    app = Flask(__name__)

    @app.get("/launch")
    def launch() -> ResponseReturnValue:
        """Redirect to the EHR's authorize endpoint (SMART EHR launch, PKCE S256)."""
        if request.args.get("iss") != client.iss:
            raise FloorError(f"the floor serves {client.iss}, not {request.args.get('iss')}")
        state = secrets.token_urlsafe(16)
        verifier = generate_token(48)
        with lock:
            pending[state] = _Pending(verifier, request.args.get("launch", ""))
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": client.scope,
            "state": state,
            "aud": client.iss,
            "launch": pending[state].launch,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return redirect(f"{authorize_url}?{urlencode(params)}", code=302)

    @app.get("/callback")
    def callback() -> ResponseReturnValue:
        """Exchange the code, fetch the visit in one batch, show its number one concern."""
        with lock:
            started = pending.pop(request.args.get("state", ""), None)
        if started is None or "code" not in request.args:
            raise FloorError(f"callback without a known state or a code: {dict(request.args)}")
        token = _exchange_code(session, token_url, client, request.args["code"], started)
        resources = _batch(session, client, token["access_token"])
        concern = number_one_concern(resources, str(token.get("patient", "")))
        if concern is None:
            raise FloorError("the batch holds no number one concern of the launch's patient")
        page = f"<!doctype html><title>Floor</title><p data-floor>{escape(concern)}</p>"
        return Response(page, mimetype="text/html")

    @app.errorhandler(FloorError)
    def failed(error: FloorError) -> tuple[str, int]:
        # A page the bench recognises as an error (it looks for the concern's text).
        return f"<!doctype html><title>Floor error</title><p>{escape(str(error))}</p>", 502

    return app


def _exchange_code(
    session: requests.Session, token_url: str, client: FloorClient, code: str, started: _Pending
) -> dict[str, Any]:
    answer = session.post(
        token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": started.verifier,
            "client_id": client.client_id,
        },
        timeout=TIMEOUT_S,
    )
    if answer.status_code != 200:
        raise FloorError(f"token endpoint answered {answer.status_code}: {answer.text[:300]}")
    token: dict[str, Any] = answer.json()
    return token


def _batch(session: requests.Session, client: FloorClient, access_token: str) -> list[Any]:
    """Every resource of the one batch of Flip's searches (first pages, as Flip's batch)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": url}} for url in client.searches],
    }
    answer = session.post(
        client.iss,
        json=bundle,
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": FHIR_JSON,
            "Content-Type": FHIR_JSON,
        },
        timeout=TIMEOUT_S,
    )
    entries = (answer.json().get("entry") or []) if answer.status_code == 200 else []
    if len(entries) != len(client.searches):
        raise FloorError(f"the batch answered {answer.status_code}: {answer.text[:300]}")
    resources: list[Any] = []
    for entry in entries:
        if not str((entry.get("response") or {}).get("status", "")).startswith("200"):
            raise FloorError(f"a search of the batch failed: {entry.get('response')}")
        for found in (entry.get("resource") or {}).get("entry") or []:
            resources.append(found.get("resource") or {})
    return resources
