"""Launch sessions: start a SMART launch, complete it, and open it on each request.

Flip runs cross-site inside the EHR's frame, where browsers may block third-party
cookies. So a launch lives in the URL (`/l/<launch id>/...`, an unguessable id), and it
serves only the browser that completed it: that browser proves itself on every request
with its partitioned cookie or, where the frame keeps no cookie, with the secret its tab
keeps in sessionStorage (session/binding.py). The URL alone opens nothing. Tokens stay
in the database, sealed; the browser never sees them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from launch import metrics
from launch.context import LaunchContext, TokenSet
from launch.errors import LaunchError, StateMismatch, TokenExchangeFailed
from launch.fhir_errors import FhirUnauthorized
from launch.flow import PendingAuthorization, SmartClient
from launch.gateway import FhirGateway
from smart_app.core.db import db
from smart_app.core.models import LaunchSession, PendingLaunch
from smart_app.core.vault import Vault, digest
from smart_app.session.handover import TABLET
from smart_app.session.roles import ROLE_OF_USER_TYPE

# A launch outlives a long clinic session, not a day: the clinician relaunches from the chart.
LAUNCH_LIFETIME = timedelta(hours=12)
# Refresh this long before the access token expires, so a request never carries a dead one.
REFRESH_MARGIN_S = 60


class LaunchNotFound(LaunchError):
    """The launch id is unknown, expired, or opened from another browser."""

    advice = "This Flip session has ended. Open Flip again from the patient's chart."


class LaunchNotProven(LaunchNotFound):
    """The request proves neither the cookie nor the tab of the browser that completed it."""

    advice = (
        "This Flip page belongs to another browser or tab. Open Flip again from the "
        "patient's chart."
    )


@dataclass(frozen=True, slots=True)
class StartedLaunch:
    """Where to send the browser, and the secret it keeps in sessionStorage."""

    authorize_url: str
    state: str
    binding: str


@dataclass(frozen=True, slots=True)
class OpenLaunch:
    """A launch opened for one request."""

    launch_id: str
    context: LaunchContext
    tokens: StoredTokens
    handover: str | None = None  # tablet | ended, once handed to the patient (handover.py)
    answerer: str | None = None  # whose turn it is on the tablet


class LaunchService:
    """Starts, completes and opens launches; owns their rows and sealed tokens."""

    def __init__(
        self, client: SmartClient, vault: Vault, *, read_http: requests.Session | None = None
    ) -> None:
        self.client = client
        self.vault = vault
        self.read_http = read_http  # for read-only batches, retried as GETs are
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def start(self, iss: str | None, launch: str | None, *, browser_id: str) -> StartedLaunch:
        """Build the authorize redirect and remember it until the callback."""
        request = self.client.begin(iss, launch=launch)
        binding = secrets.token_urlsafe(32)
        with db.session() as session:
            session.add(
                PendingLaunch(
                    state_hash=digest(request.pending.state),
                    sealed=self.vault.seal(asdict(request.pending)),
                    browser_hash=digest(browser_id),
                    binding_hash=digest(binding),
                    created_at=_now(),
                )
            )
        return StartedLaunch(request.url, request.pending.state, binding)

    def gateway(self, opened: OpenLaunch) -> FhirGateway:
        """The FHIR gateway of one launch (its base is the launch's iss)."""
        return FhirGateway(
            opened.context.iss, opened.tokens, http=self.client.http, read_http=self.read_http
        )

    def finish(
        self,
        params: dict[str, str],
        *,
        browser_id: str | None,
        binding: str | None,
        tab_may_prove: bool = False,
    ) -> OpenLaunch | None:
        """Complete the callback (single use, bound to its browser): the launch, opened.

        None, with the launch still pending, when the cookie does not prove the browser and
        `tab_may_prove`: the tab is to post the binding it keeps (session/views.py).
        """
        if "error" in params:
            # The EHR refused (consent denied, bad request): say so, whatever the binding,
            # in words for whoever started it (a portal's launch is a patient's or parent's).
            pending = self._discard_pending(params.get("state", ""))
            metrics.count_refused_launch(params["error"])
            self.client.complete(pending, params)
        taken = self._take_pending(
            params.get("state", ""),
            browser_id=browser_id,
            binding=binding,
            tab_may_prove=tab_may_prove,
        )
        if taken is None:
            return None
        pending, by_cookie = taken
        try:
            completed = self.client.complete(pending, params)
        except LaunchError as exc:
            metrics.count_launch(type(exc).__name__)
            raise
        if not completed.context.patient and not _from_the_schedule(completed.context):
            metrics.count_launch("no_patient")
            raise TokenExchangeFailed("invalid_request", "the EHR gave no patient context")
        launch_id = secrets.token_urlsafe(32)
        stored_context = _context_json(completed.context)
        sealed_tokens = self.vault.seal(asdict(completed.tokens))
        browser_hash = digest(browser_id) if by_cookie and browser_id else None
        with db.session() as session:
            handed = _handed_to_patient(session, browser_hash, completed.context)
            session.add(
                LaunchSession(
                    id_hash=digest(launch_id),
                    iss=completed.context.iss,
                    patient=completed.context.patient or "",
                    sealed_context=self.vault.seal(stored_context),
                    sealed_tokens=sealed_tokens,
                    browser_hash=browser_hash,
                    tab_binding_hash=None if by_cookie or not binding else digest(binding),
                    handover=TABLET if handed else None,
                    created_at=_now(),
                    expires_at=_now() + LAUNCH_LIFETIME,
                )
            )
        metrics.count_launch("completed")
        # The launch as `open` reads it back: the callback's own page needs no second read.
        context = _context_from_json(stored_context)
        tokens = StoredTokens(self, launch_id, context.iss, sealed=sealed_tokens)
        return OpenLaunch(launch_id, context, tokens, TABLET if handed else None)

    def open(
        self,
        launch_id: str,
        *,
        browser_id: str | None,
        tab_binding: str | None,
        require_browser: bool = True,
    ) -> OpenLaunch:
        """The launch behind `launch_id` for the browser that completed it.

        LaunchNotFound when it is unknown or expired; LaunchNotProven when the request
        carries neither that browser's cookie nor its tab's binding.
        """
        with db.session() as session:
            row = session.get(LaunchSession, digest(launch_id))
            if row is None or _aware(row.expires_at) <= _now():
                raise LaunchNotFound("unknown or expired launch")
            proven = _proves(row.browser_hash, browser_id) or _proves(
                row.tab_binding_hash, tab_binding
            )
            if require_browser and not proven:
                raise LaunchNotProven("neither the browser's cookie nor its tab's binding")
            context = _context_from_json(self.vault.open(row.sealed_context))
            handover, answerer, sealed_tokens = row.handover, row.answerer, row.sealed_tokens
        tokens = StoredTokens(self, launch_id, context.iss, sealed=sealed_tokens)
        return OpenLaunch(launch_id, context, tokens, handover, answerer)

    def _discard_pending(self, state: str) -> PendingAuthorization | None:
        """Forget the pending launch of `state`; what it was, when there was one."""
        with db.session() as session:
            row = session.get(PendingLaunch, digest(state)) if state else None
            if row is None:
                return None
            session.delete(row)
            return PendingAuthorization(**self.vault.open(row.sealed))

    def _take_pending(
        self, state: str, *, browser_id: str | None, binding: str | None, tab_may_prove: bool
    ) -> tuple[PendingAuthorization, bool] | None:
        """The pending authorization (used once), and whether the cookie proved the browser;
        None, and still pending, when only the tab could prove it."""
        # Expired rows are purged on start and by the worker (pending.py), off this path;
        # one too old is refused by the launch client (PENDING_LIFETIME_S).
        with db.session() as session:
            row = session.get(PendingLaunch, digest(state)) if state else None
            if row is None:
                metrics.count_launch("state_unknown")
                raise StateMismatch("unknown or already used state")
            by_cookie = _proves(row.browser_hash, browser_id)
            if not (by_cookie or _proves(row.binding_hash, binding)):
                if tab_may_prove:
                    return None
                metrics.count_launch("state_other_browser")
                raise StateMismatch("state presented by another browser")
            session.delete(row)  # single use
            return PendingAuthorization(**self.vault.open(row.sealed)), by_cookie

    def lock_for(self, launch_id: str) -> threading.Lock:
        """The lock that serialises token refreshes of one launch in this process."""
        return self._lock_for_hash(digest(launch_id))

    def tokens_by_hash(self, id_hash: str, iss: str) -> StoredTokens:
        """The tokens of the launch stored under `id_hash` (for the write-back worker)."""
        return StoredTokens(self, None, iss, id_hash=id_hash)

    def _lock_for_hash(self, id_hash: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(id_hash, threading.Lock())


class StoredTokens:
    """A launch's tokens in the database: refreshed before expiry, and once after a 401."""

    def __init__(
        self,
        service: LaunchService,
        launch_id: str | None,
        iss: str,
        *,
        id_hash: str = "",
        sealed: str | None = None,
    ) -> None:
        self._service = service
        # Only the hash is needed: the worker holds no launch id, just the row's key.
        self._id_hash = digest(launch_id) if launch_id is not None else id_hash
        self._iss = iss
        # The tokens as the request that opened the launch read them: its first FHIR call
        # needs no second read of the row; later ones read the row again, for a refresh.
        self._sealed = sealed

    @property
    def id_hash(self) -> str:
        """The key of the launch's row (a hash of its id)."""
        return self._id_hash

    def access_token(self) -> str:
        """A token valid for at least REFRESH_MARGIN_S more seconds."""
        sealed, self._sealed = self._sealed, None
        tokens = TokenSet(**self._service.vault.open(sealed)) if sealed else self._load()
        if not tokens.due_for_refresh(REFRESH_MARGIN_S) or tokens.refresh_token is None:
            return tokens.access_token
        # Requests racing here refresh once: only while the stored token is still this one.
        return self._refresh(lambda current: current.access_token == tokens.access_token)

    def refresh_after_rejection(self, rejected: str) -> str:
        """A new token after `rejected` got a 401; others racing get the same new one."""
        return self._refresh(lambda current: current.access_token == rejected)

    def _load(self) -> TokenSet:
        with db.session() as session:
            row = session.get(LaunchSession, self._id_hash)
            if row is None:
                raise FhirUnauthorized("The launch has ended.", status=401)
            return TokenSet(**self._service.vault.open(row.sealed_tokens))

    def _refresh(self, still_needed: Any) -> str:
        # One refresh per process at a time (the lock); across processes, the refresh is
        # optimistic, so no database transaction stays open over the EHR's token call:
        # read, refresh, then save only if nobody saved a newer token meanwhile. A rotating
        # EHR answers the loser of a race `invalid_grant`: it takes the winner's token.
        with self._service._lock_for_hash(self._id_hash):
            current = self._load()
            if not still_needed(current):
                return current.access_token  # someone else refreshed meanwhile
            try:
                fresh = self._service.client.refresh(self._iss, current)
            except TokenExchangeFailed as exc:
                latest = self._load()
                if latest.access_token != current.access_token:
                    return latest.access_token  # another process refreshed first
                raise FhirUnauthorized(
                    "The EHR ended this session and refused to renew it.", status=401
                ) from exc
            with db.session() as session:
                row = session.get(LaunchSession, self._id_hash, with_for_update=True)
                if row is None:
                    raise FhirUnauthorized("The launch has ended.", status=401)
                stored = TokenSet(**self._service.vault.open(row.sealed_tokens))
                if stored.access_token != current.access_token:
                    return stored.access_token  # another process saved its refresh first
                row.sealed_tokens = self._service.vault.seal(asdict(fresh))
            return fresh.access_token


def _context_json(context: LaunchContext) -> dict[str, Any]:
    value = asdict(context)
    value["fhir_context"] = [dict(c) for c in context.fhir_context]
    value["granted_scopes"] = sorted(context.granted_scopes)
    return value


def _context_from_json(value: dict[str, Any]) -> LaunchContext:
    return LaunchContext(
        **{
            **value,
            "fhir_context": tuple(value["fhir_context"]),
            "granted_scopes": frozenset(value["granted_scopes"]),
        }
    )


def _handed_to_patient(session: Session, browser_hash: str | None, context: LaunchContext) -> bool:
    # This browser's launch of the same patient is handed to the patient on the clinic's
    # tablet (not handed back yet): a new launch from it (the EHR's page reloaded) is the
    # tablet's too, never the clinician's visit with the answers on it.
    if browser_hash is None or not context.patient:
        return False
    handed = select(LaunchSession.id_hash).where(
        LaunchSession.browser_hash == browser_hash,
        LaunchSession.iss == context.iss,
        LaunchSession.patient == context.patient,
        LaunchSession.handover == TABLET,
        LaunchSession.expires_at > _now(),
    )
    return session.scalar(handed.limit(1)) is not None


def _from_the_schedule(context: LaunchContext) -> bool:
    # A clinician may launch with no patient, from the EHR's schedule: the clinic-day panel.
    # A patient or parent always has their patient; without fhirUser nobody gets a panel.
    return ROLE_OF_USER_TYPE.get(context.user_type or "") == "clinician"


def _proves(stored_hash: str | None, presented: str | None) -> bool:
    """Whether a presented secret matches the hash kept for it (and both exist)."""
    return bool(stored_hash and presented) and hmac.compare_digest(
        stored_hash or "", digest(presented or "")
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
