"""Fixtures for the authorization server tests: registered clients and a flow driver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ehr_sandbox.auth import register_client
from ehr_sandbox.launch_context import LaunchContext, create_launch
from ehr_sandbox.state import current_state
from tests.conftest import LiveSandbox, start_sandbox
from tests.sandbox.portal_support import seed_family

REDIRECT_URI = "http://127.0.0.1:8080/callback"
APP_SCOPE = "launch openid fhirUser offline_access patient/*.rs"


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect Location."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class SmartFlow:
    """Drives SMART authorization flows against one live sandbox, as an app would."""

    sandbox: LiveSandbox
    client_id: str = "test-app"
    http: requests.Session = field(default_factory=requests.Session)
    verifier: str = field(default_factory=lambda: str(generate_token(64)))

    @property
    def token_url(self) -> str:
        return f"{self.sandbox.url}/auth/token"

    def register(self, **options: Any) -> None:
        """Register (or replace) a client in the sandbox database."""
        options.setdefault("client_id", self.client_id)
        options.setdefault("client_name", "Test App")
        options.setdefault("redirect_uris", [REDIRECT_URI])
        options.setdefault("client_type", "public")
        with self.sandbox.app.app_context(), current_state().db.session() as session:
            register_client(session, **options)

    def seed(self, resource_type: str, resource_id: str, **content: Any) -> None:
        """Create a resource through the open FHIR server."""
        body = {"resourceType": resource_type, "id": resource_id, **content}
        url = f"{self.sandbox.open_fhir_base}/{resource_type}/{resource_id}"
        response = requests.put(url, json=body, timeout=5)
        assert response.status_code in (200, 201), response.text

    def launch(self, context: LaunchContext) -> str:
        """Create an EHR launch and return its id."""
        with self.sandbox.app.app_context(), current_state().db.session() as session:
            return create_launch(session, context)

    def authorize(
        self, *, scope: str = APP_SCOPE, verifier: str | None = None, **overrides: str | None
    ) -> requests.Response:
        """Send an authorization request; `None` in overrides drops a parameter."""
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "state-123",
            "aud": self.sandbox.fhir_base,
            "code_challenge": create_s256_code_challenge(verifier or self.verifier),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        sent = {k: v for k, v in params.items() if v is not None}
        return self.http.get(
            f"{self.sandbox.url}/auth/authorize", params=sent, allow_redirects=False, timeout=5
        )

    def code_from(self, response: requests.Response) -> str:
        """The code of a successful authorization redirect."""
        assert response.status_code == 302, response.text
        params = query_of(response.headers["Location"])
        assert params["state"] == "state-123"
        return params["code"]

    def exchange(self, code: str, **extra: str) -> requests.Response:
        """Redeem a code at the token endpoint (a public client unless extra says)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
            **extra,
        }
        return requests.post(self.token_url, data=data, timeout=5)

    def ehr_token(self, *, scope: str = APP_SCOPE, **context: Any) -> dict[str, Any]:
        """Run a whole EHR launch for patient p1 and return the token response."""
        launch = self.launch(LaunchContext(patient=context.pop("patient", "p1"), **context))
        response = self.exchange(self.code_from(self.authorize(scope=scope, launch=launch)))
        assert response.status_code == 200, response.text
        token: dict[str, Any] = response.json()
        return token


@pytest.fixture
def smart(sandbox: LiveSandbox) -> SmartFlow:
    """A registered public client and a practitioner and patient in the sandbox."""
    flow = SmartFlow(sandbox)
    flow.register()
    flow.seed("Practitioner", "dr1", name=[{"family": "Osler", "given": ["William"]}])
    flow.seed("Patient", "p1", name=[{"family": "Jones", "given": ["Ada"]}], birthDate="2015-04-02")
    return flow


@pytest.fixture
def family(smart: SmartFlow) -> SmartFlow:
    """Teen p1 with a mother rp1, and p2 with a father rp2; p1 has one private answer."""
    return seed_family(smart)


@pytest.fixture
def short_lived_sandbox(database_url: str) -> Iterator[LiveSandbox]:
    """A sandbox whose access tokens live one second."""
    yield from start_sandbox(database_url, access_token_lifetime_s=1)
