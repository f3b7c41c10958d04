"""The sandbox as a CDS Hooks 2.0 client: it calls the app's `patient-view` service when a
chart opens, and the chart page shows the card above the chart.

https://cds-hooks.hl7.org/2.0/: discovery at `{cds_services_url}` (cached), then one POST
per patient-view service, authenticated with a JWT the sandbox signs with its own ES384
key (published at /cds-client/jwks.json, named by the `jku` header), carrying the
prefetch the service asked for (read from the sandbox's own store) and a
`fhirAuthorization` token minted for the app, patient-scoped and read-only. The chart
page fetches the cards from /chart/<id>/cds-cards after it has loaded, so a slow or
absent service never slows or breaks the chart.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Blueprint, Response, jsonify, request
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ehr_sandbox.auth.models import IssuedToken, digest
from ehr_sandbox.config import SandboxSettings
from ehr_sandbox.db import Base
from ehr_sandbox.fhir.errors import FhirError
from ehr_sandbox.fhir.search import search_resources
from ehr_sandbox.fhir.store import read_resource
from ehr_sandbox.launch_context import LaunchContext, create_launch, find_launch
from ehr_sandbox.pages import launch_url, signed_in_practitioner, smart_style_url
from ehr_sandbox.state import current_state

log = logging.getLogger(__name__)

bp = Blueprint("cds_client", __name__)

HOOK = "patient-view"
SIGNING_ALG = "ES384"  # CDS Hooks 2.0: ES384 or RS384
JWT_LIFETIME_S = 300  # "exp ... no more than 5 minutes"
FHIR_TOKEN_LIFETIME_S = 300
# What the app may read with the hook's token: the chart's patient, read-only.
FHIR_SCOPE = "patient/Patient.rs patient/QuestionnaireResponse.rs patient/RelatedPerson.rs"
DISCOVERY_TTL_S = 300.0
TIMEOUT_S = 5.0
_TOKEN = re.compile(r"\{\{\s*(context\.patientId|userPractitionerId|context\.userId)\s*\}\}")
_discovered: dict[str, tuple[float, list[dict[str, Any]]]] = {}
_discovery_lock = threading.Lock()


class CdsClientKey(Base):
    """The private JWK the sandbox signs its CDS Hooks JWTs with; generated once."""

    __tablename__ = "sandbox_cds_client_key"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(Integer)


@bp.get("/cds-client/jwks.json")
def jwks() -> Response:
    """The public keys of the sandbox's CDS client JWTs."""
    with current_state().db.session() as session:
        keys = [ECKey.import_key(r.private_jwk) for r in _keys(session)]
    return jsonify(KeySet(list(keys)).as_dict(private=False))


@bp.get("/chart/<patient_id>/cds-cards")
def cards(patient_id: str) -> tuple[Response, int]:
    """The cards of the app's patient-view services for this chart, ready to show as text."""
    settings = current_state().settings
    with current_state().db.session() as session:
        if read_resource(session, "Patient", patient_id) is None:
            return jsonify({"cards": [], "unavailable": True}), 404
        chart_launch = find_launch(session, str(request.args.get("launch", "")))
        practitioner = (
            chart_launch.practitioner
            if chart_launch is not None and chart_launch.patient == patient_id
            else signed_in_practitioner(settings, None)
        )
        encounter = (
            chart_launch.encounter
            if chart_launch is not None and chart_launch.patient == patient_id
            else None
        )
    try:
        found = _cards_for(settings, patient_id, practitioner=practitioner, encounter=encounter)
    except (requests.RequestException, ValueError) as error:
        # The chart is the EHR's: the app's card is a bonus, never a failure of the page.
        log.info("CDS service unavailable (%s)", type(error).__name__)
        return jsonify({"cards": [], "unavailable": True}), 200
    return jsonify({"cards": found}), 200


def cds_services_url(settings: SandboxSettings) -> str:
    """The app's CDS discovery URL: configured, or beside its launch URL."""
    if settings.cds_services_url:
        return settings.cds_services_url.rstrip("/")
    parts = urlsplit(settings.app_launch_url)
    return f"{parts.scheme}://{parts.netloc}/cds-services"


def _cards_for(
    settings: SandboxSettings, patient_id: str, *, practitioner: str | None, encounter: str | None
) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for found in _services(cds_services_url(settings)):
        if found.get("hook") != HOOK or not isinstance(found.get("id"), str):
            continue
        service_url = f"{cds_services_url(settings)}/{found['id']}"
        prefetch = found.get("prefetch") if isinstance(found.get("prefetch"), dict) else {}
        with current_state().db.session() as session:
            body = _hook_request(
                session, settings, patient_id, practitioner, encounter, prefetch or {}
            )
            token = _signed_jwt(session, settings, audience=service_url)
        answer = requests.post(
            service_url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
        )
        answer.raise_for_status()
        returned = answer.json().get("cards", [])
        for card in returned if isinstance(returned, list) else []:
            if isinstance(card, dict):
                shown.append(_shown(settings, card, patient_id, practitioner, encounter))
    return shown


def _services(discovery_url: str) -> list[dict[str, Any]]:
    now = time.monotonic()
    with _discovery_lock:
        cached = _discovered.get(discovery_url)
    if cached is not None and now - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    answer = requests.get(discovery_url, timeout=TIMEOUT_S)
    answer.raise_for_status()
    services = answer.json().get("services", [])
    found = [s for s in services if isinstance(s, dict)] if isinstance(services, list) else []
    with _discovery_lock:
        _discovered[discovery_url] = (now, found)
    return found


def _hook_request(
    session: Session,
    settings: SandboxSettings,
    patient_id: str,
    practitioner: str | None,
    encounter: str | None,
    templates: dict[str, Any],
) -> dict[str, Any]:
    user = f"Practitioner/{practitioner}" if practitioner else None
    context: dict[str, Any] = {"patientId": patient_id, "userId": user}
    if encounter:
        context["encounterId"] = encounter
    values = {
        "context.patientId": patient_id,
        "context.userId": user or "",
        "userPractitionerId": practitioner or "",
    }
    return {
        "hook": HOOK,
        "hookInstance": str(uuid.uuid4()),
        "context": {k: v for k, v in context.items() if v is not None},
        "fhirServer": settings.fhir_base,
        "fhirAuthorization": fhir_authorization(session, settings, patient_id, user),
        "prefetch": {
            key: _prefetched(session, _TOKEN.sub(lambda m: values[m.group(1)], template))
            for key, template in templates.items()
            if isinstance(template, str)
        },
    }


def _prefetched(session: Session, query: str) -> dict[str, Any] | None:
    # Read from the sandbox's own store, as an EHR answers a prefetch from its database;
    # None (JSON null) for what it cannot answer, as the spec allows.
    path, _, params = query.partition("?")
    resource_type, _, resource_id = path.partition("/")
    if resource_id:
        return read_resource(session, resource_type, resource_id)
    pairs = parse_qsl(params)
    patient = next((v for k, v in pairs if k in ("patient", "subject")), None)
    try:
        found = search_resources(session, resource_type, pairs, patient_id=patient)
    except (FhirError, KeyError):
        return None
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [{"resource": r} for r in found],
    }


def fhir_authorization(
    session: Session, settings: SandboxSettings, patient_id: str, user: str | None
) -> dict[str, Any]:
    """A fhirAuthorization for the app: a real, patient-scoped, read-only access token."""
    # A real access token of the app's client, stored like those the token endpoint
    # issues, so the FHIR server checks it as it checks every other.
    token = secrets.token_urlsafe(36)
    session.add(
        IssuedToken(
            client_id=settings.cds_app_client_id,
            access_digest=digest(token),
            refresh_digest=None,
            scope=FHIR_SCOPE,
            issued_at=int(time.time()),
            expires_in=FHIR_TOKEN_LIFETIME_S,
            refresh_expires_at=None,
            access_revoked=False,
            refresh_revoked=False,
            subject=user or "cds-hooks",
            fhir_user=user,
            patient=patient_id,
        )
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": FHIR_TOKEN_LIFETIME_S,
        "scope": FHIR_SCOPE,
        "subject": settings.cds_app_client_id,
        "patient": patient_id,
    }


def _signed_jwt(session: Session, settings: SandboxSettings, *, audience: str) -> str:
    key = ECKey.import_key(_keys(session)[0].private_jwk)
    now = int(time.time())
    header = {"alg": SIGNING_ALG, "typ": "JWT", "kid": key.kid, "jku": jwks_url(settings)}
    claims = {
        "iss": settings.public_url.rstrip("/"),
        "aud": audience,
        "iat": now,
        "exp": now + JWT_LIFETIME_S,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALG])


def jwks_url(settings: SandboxSettings) -> str:
    """Where the sandbox publishes its CDS client keys (the JWTs' `jku`)."""
    return f"{settings.public_url.rstrip('/')}/cds-client/jwks.json"


def _keys(session: Session) -> list[CdsClientKey]:
    keys = list(session.scalars(select(CdsClientKey).order_by(CdsClientKey.created_at)))
    if not keys:
        key = ECKey.generate_key(
            "P-384", parameters={"alg": SIGNING_ALG, "use": "sig"}, auto_kid=True
        )
        record = CdsClientKey(
            kid=key.kid, private_jwk=key.as_dict(private=True), created_at=int(time.time())
        )
        session.add(record)
        session.flush()
        keys = [record]
    return keys


def _shown(
    settings: SandboxSettings,
    card: dict[str, Any],
    patient_id: str,
    practitioner: str | None,
    encounter: str | None,
) -> dict[str, Any]:
    source = card.get("source") if isinstance(card.get("source"), dict) else {}
    links = []
    for link in card.get("links", []) if isinstance(card.get("links"), list) else []:
        if not isinstance(link, dict) or not isinstance(link.get("url"), str):
            continue
        url = link["url"]
        if link.get("type") == "smart":
            # Only the registered app is launched: a card cannot send the EHR's launch
            # context (and the user) to an app the EHR does not know.
            if not _same_origin(url, settings.app_launch_url):
                continue
            url = _smart_launch(settings, url, patient_id, practitioner, encounter)
        elif not url.startswith(("https://", "http://")):
            continue
        links.append(
            {"label": str(link.get("label", "Open")), "url": url, "type": link.get("type")}
        )
    return {
        "summary": str(card.get("summary", "")),
        "detail": str(card.get("detail", "")),
        "indicator": str(card.get("indicator", "info")),
        "source": str((source or {}).get("label", "")),
        "links": links,
    }


def _smart_launch(
    settings: SandboxSettings,
    url: str,
    patient_id: str,
    practitioner: str | None,
    encounter: str | None,
) -> str:
    # A SMART link is launched like the sidebar's app: a fresh launch context, whose id
    # and the FHIR base the EHR appends (CDS Hooks 2.0 "Link", type smart).
    with current_state().db.session() as session:
        launch_id = create_launch(
            session,
            LaunchContext(
                patient=patient_id,
                encounter=encounter,
                practitioner=practitioner,
                need_patient_banner=False,
                smart_style_url=smart_style_url(settings),
            ),
        )
    return launch_url(replace(settings, app_launch_url=url), launch_id)


def _same_origin(url: str, other: str) -> bool:
    first, second = urlsplit(url), urlsplit(other)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)
