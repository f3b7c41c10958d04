"""Portal helpers for the sandbox tests: a family with a private answer, and portal tokens."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from flip_cli.sandbox import request_portal_url

if TYPE_CHECKING:  # conftest imports this module for its fixture
    from tests.sandbox.conftest import SmartFlow

PORTAL_SCOPE = "launch/patient openid fhirUser patient/*.cruds"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}
TEEN_SECRET = "qr-teen-private"
TEEN_OPEN = "qr-teen-open"


def _questionnaire_response(smart: SmartFlow, resource_id: str, **extra: Any) -> None:
    smart.seed(
        "QuestionnaireResponse",
        resource_id,
        status="completed",
        subject={"reference": "Patient/p1"},
        author={"reference": "Patient/p1"},
        item=[{"linkId": "number-one-concern", "answer": [{"valueString": "words"}]}],
        **extra,
    )


def seed_family(smart: SmartFlow) -> SmartFlow:
    """Teen p1 with a mother rp1, and p2 with a father rp2; p1 has one private answer."""
    smart.seed("Patient", "p2", name=[{"family": "Okafor", "given": ["Ben"]}])
    parents = (("rp1", "p1", "Grace", "MTH"), ("rp2", "p2", "Obi", "FTH"))
    for person, patient, given, code in parents:
        smart.seed(
            "RelatedPerson",
            person,
            active=True,
            patient={"reference": f"Patient/{patient}"},
            relationship=[{"coding": [{"code": code}]}],
            name=[{"given": [given], "family": "Family"}],
        )
    for patient in ("p1", "p2"):
        smart.seed(
            "Observation",
            f"weight-{patient}",
            status="final",
            code={"text": "Weight"},
            subject={"reference": f"Patient/{patient}"},
        )
    _questionnaire_response(smart, TEEN_SECRET, meta=RESTRICTED)
    _questionnaire_response(smart, TEEN_OPEN)
    return smart


def portal_token(smart: SmartFlow, user: str, *, scope: str = PORTAL_SCOPE) -> dict[str, Any]:
    """Follow `flip sandbox portal-url` in a browser, then run the app's standalone launch."""
    url = request_portal_url(user, sandbox_url=smart.sandbox.url)
    entered = smart.http.get(url, allow_redirects=False, timeout=5)
    assert entered.status_code == 302, entered.text
    # The app is opened with `iss` only: a plain standalone launch.
    assert parse_qs(urlsplit(entered.headers["Location"]).query) == {
        "iss": [smart.sandbox.fhir_base]
    }
    authorized = smart.authorize(scope=scope)  # what the app then sends, nothing more
    response = smart.exchange(smart.code_from(authorized))  # a code: no login, no consent
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def fhir(smart: SmartFlow, token: dict[str, Any], method: str, path: str, **kw: Any) -> Any:
    """A request to the SMART-protected FHIR base with the token."""
    return requests.request(
        method,
        f"{smart.sandbox.fhir_base}/{path}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
        **kw,
    )


def ids(bundle: dict[str, Any]) -> set[str]:
    """The ids of a Bundle's resources."""
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def id_token_claims(smart: SmartFlow, token: dict[str, Any]) -> dict[str, Any]:
    """The claims of the token response's id_token, its signature checked."""
    jwks = requests.get(f"{smart.sandbox.url}/auth/jwks", timeout=5).json()
    claims: dict[str, Any] = jwt.decode(token["id_token"], KeySet.import_key_set(jwks)).claims
    return claims


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a sandbox form, unescaped."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    return {name: value.replace("&amp;", "&") for name, value in fields}
