"""The SMART App Launch 2.2 authorization code flow, with authlib's OAuth2Session.

https://hl7.org/fhir/smart-app-launch/app-launch.html. Endpoints are learned from each
`iss` by discovery, so sessions are built per launch (not `oauth.register`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from launch import metrics
from launch.client_auth import SmartPrivateKeyJWT
from launch.context import (
    LaunchContext,
    TokenSet,
    context_from_token_response,
    tokens_from_response,
)
from launch.discovery import DiscoveryCache, SmartConfiguration
from launch.errors import (
    AuthorizationDenied,
    IdTokenInvalid,
    StateExpired,
    StateMismatch,
    TokenExchangeFailed,
)
from launch.id_token import IdTokenValidator
from launch.registrations import Registration, Registrations

# A clinician who leaves the EHR's consent screen open longer than this starts again.
PENDING_LIFETIME_S = 600
STANDALONE_SCOPE_EXTRA = "launch/patient"


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """What Flip remembers between redirecting to authorize and the callback."""

    iss: str
    state: str
    code_verifier: str
    nonce: str | None
    scope: str
    created_at: float
    standalone: bool = False  # no `launch` from an EHR: a patient's or parent's portal


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the browser, and what to remember until it returns."""

    url: str
    pending: PendingAuthorization


@dataclass(frozen=True, slots=True)
class CompletedLaunch:
    """The result of a successful callback."""

    context: LaunchContext
    tokens: TokenSet


class SmartClient:
    """Starts and completes launches against every registered EHR."""

    def __init__(
        self,
        registrations: Registrations,
        *,
        redirect_uri: str,
        http: requests.Session | None = None,
        discovery: DiscoveryCache | None = None,
        id_tokens: IdTokenValidator | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.registrations = registrations
        self.redirect_uri = redirect_uri
        self.http = http or requests.Session()
        self.discovery = discovery or DiscoveryCache(self.http)
        self._id_tokens = id_tokens or IdTokenValidator(self.http)
        self._timeout_s = timeout_s

    def begin(self, iss: str | None, *, launch: str | None = None) -> AuthorizationRequest:
        """Build the authorize redirect for an EHR launch (`launch`) or a standalone one."""
        registration = self.registrations.find(iss)
        configuration = self.discovery.get(registration.iss)
        scope = _scope_for(registration, standalone=launch is None)
        state = secrets.token_urlsafe(32)  # 256 bits, more than SMART's 122-bit minimum
        code_verifier = generate_token(64)
        nonce = secrets.token_urlsafe(24) if "openid" in scope.split() else None
        extra: dict[str, str] = {"aud": registration.iss}
        if launch is not None:
            extra["launch"] = launch
        if nonce is not None:
            extra["nonce"] = nonce
        with self._session(registration, configuration, scope=scope) as session:
            url, _ = session.create_authorization_url(
                configuration.authorization_endpoint,
                state=state,
                code_verifier=code_verifier,
                **extra,
            )
        pending = PendingAuthorization(
            iss=registration.iss,
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
            scope=scope,
            created_at=time.time(),
            standalone=launch is None,
        )
        return AuthorizationRequest(url=url, pending=pending)

    def complete(
        self, pending: PendingAuthorization | None, params: Mapping[str, str]
    ) -> CompletedLaunch:
        """Check the callback against `pending`, exchange the code, validate the id_token."""
        if "error" in params:
            raise AuthorizationDenied(
                params["error"],
                params.get("error_description"),
                standalone=pending is not None and pending.standalone,
            )
        if pending is None or not secrets.compare_digest(pending.state, params.get("state", "")):
            raise StateMismatch("This sign-in does not match a launch started in this browser.")
        if time.time() - pending.created_at > PENDING_LIFETIME_S:
            raise StateExpired(
                "The launch took too long to complete.", standalone=pending.standalone
            )
        code = params.get("code")
        if not code:
            raise TokenExchangeFailed("invalid_request", "the callback carried no code")
        registration = self.registrations.find(pending.iss)
        configuration = self.discovery.get(registration.iss)
        with self._session(registration, configuration, scope=pending.scope) as session:
            response = self._token_call(
                lambda: session.fetch_token(
                    configuration.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                    timeout=self._timeout_s,
                )
            )
        tokens = tokens_from_response(response)
        if tokens.id_token is None and "openid" in pending.scope.split():
            # OpenID Connect requires it in the response to an `openid` request; without it
            # nothing signed vouches for fhirUser, so a stripped response must not pass.
            raise IdTokenInvalid("the EHR sent no id_token although Flip asked for openid")
        if tokens.id_token is not None:
            claims = self._id_tokens.validate(
                tokens.id_token,
                configuration=configuration,
                iss=registration.iss,
                client_id=registration.client_id,
                nonce=pending.nonce,
            )
            # SMART puts fhirUser in the id_token; some servers echo it in the response too.
            if "fhirUser" not in response and isinstance(claims.get("fhirUser"), str):
                response = {**response, "fhirUser": claims["fhirUser"]}
        context = context_from_token_response(
            registration.iss, response, requested_scope=pending.scope
        )
        return CompletedLaunch(context=context, tokens=tokens)

    def refresh(self, iss: str, tokens: TokenSet) -> TokenSet:
        """Exchange the refresh token; keeps the old one when the server rotates none."""
        if tokens.refresh_token is None:
            raise TokenExchangeFailed("invalid_grant", "no refresh token was issued")
        registration = self.registrations.find(iss)
        configuration = self.discovery.get(registration.iss)
        refresh_token = tokens.refresh_token
        with self._session(registration, configuration, scope=None) as session:
            response = self._token_call(
                lambda: session.refresh_token(
                    configuration.token_endpoint,
                    refresh_token=refresh_token,
                    timeout=self._timeout_s,
                )
            )
        return tokens_from_response(response, previous_refresh_token=refresh_token)

    def _session(
        self, registration: Registration, configuration: SmartConfiguration, *, scope: str | None
    ) -> OAuth2Session:
        session = OAuth2Session(
            client_id=registration.client_id,
            client_secret=registration.client_secret,
            token_endpoint_auth_method=registration.token_endpoint_auth_method,
            scope=scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
        )
        # Share the transport (retries, test doubles) of the client's own HTTP session.
        for prefix, adapter in self.http.adapters.items():
            session.mount(prefix, adapter)
        if registration.private_jwk is not None:
            session.register_client_auth_method(
                SmartPrivateKeyJWT(
                    configuration.token_endpoint,
                    private_jwk=registration.private_jwk,
                    alg=registration.signing_alg,
                )
            )
        return session

    @staticmethod
    def _token_call(call: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response: dict[str, Any] = dict(call())
        except OAuthError as exc:
            raise TokenExchangeFailed(exc.error, exc.description) from exc
        except requests.RequestException as exc:
            raise TokenExchangeFailed(
                "temporarily_unavailable", f"token endpoint unreachable ({type(exc).__name__})"
            ) from exc
        finally:
            metrics.observe_token_request(time.perf_counter() - started)
        if "access_token" not in response:
            raise TokenExchangeFailed("invalid_response", "the token response has no access_token")
        return response


# What the pre-visit form reads (smart_app/previsit/service.py `_chart`), and its answers;
# a wildcard (`patient/*.rs`) is the registration's own choice, kept read-only.
PORTAL_READS = frozenset({"Patient", "Appointment", "RelatedPerson", "QuestionnaireResponse", "*"})


def _scope_for(registration: Registration, *, standalone: bool) -> str:
    if not standalone:
        return registration.scope
    if registration.standalone_scope:
        return registration.standalone_scope
    scopes = [kept for s in registration.scope.split() if (kept := _patient_facing(s))]
    return " ".join([*scopes, STANDALONE_SCOPE_EXTRA])


def _patient_facing(scope: str) -> str | None:
    """`scope` as a standalone (patient or parent) launch asks for it, or None to drop it.

    A patient or parent writes only their own QuestionnaireResponse: every other write
    permission is dropped (v2 `c`, `u`, `d`; v1 `write`), as are `user/` scopes and the EHR
    launch's `launch` (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
    Reads are only those the pre-visit form makes (`PORTAL_READS`): the consent screen asks
    a patient for nothing the form does not use.
    """
    if scope == "launch" or scope.startswith("user/"):
        return None
    if not scope.startswith("patient/") or "." not in scope:
        return scope
    resource, _, rest = scope.removeprefix("patient/").partition(".")
    permissions, _, query = rest.partition("?")
    if resource not in PORTAL_READS:
        return None
    if resource == "QuestionnaireResponse":
        return scope
    if permissions in ("*", "read", "write"):  # SMART v1
        return None if permissions == "write" else f"patient/{resource}.read"
    reads = "".join(p for p in permissions if p in "rs")
    if not reads:
        return None
    return f"patient/{resource}.{reads}" + (f"?{query}" if query else "")
