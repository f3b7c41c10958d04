"""Flip's own copy of every pre-visit response: one row per person and visit, sealed.

A submission commits its row (answers and QuestionnaireResponse sealed with the vault)
before anything is sent, so nothing typed is lost whatever the EHR does; sending again
changes the same row, so the chart never gets a second response. The clinician's visit
reads these rows too (`responses_for`), so the answers reach the visit on any EHR.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fhir_mappings.previsit_form import FormAnswers
from smart_app.core.db import db
from smart_app.core.leases import PENDING, now_utc
from smart_app.core.models import PrevisitResponse
from smart_app.core.vault import SealBroken, Vault

log = logging.getLogger(__name__)

SENT, KEPT, REFUSED = "sent", "kept", "refused"
# The request that sends the answers makes their first attempt itself, right after the
# commit; the worker leaves the row alone this long, so it never races that attempt (and
# the page always tells the outcome of the first). If the request dies, the worker sends.
FIRST_ATTEMPT_HOLD = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What Flip keeps of one person's answers for one visit."""

    key: str
    answers: FormAnswers
    state: str  # pending | sent | kept | refused
    last_error: str | None
    ehr_id: str | None


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose answers, for which visit: one row each."""

    iss: str
    patient: str
    author: str
    visit_key: str


class PrevisitStore:
    """Reads and writes the rows of Flip's pre-visit responses."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def find(self, owner: Owner) -> StoredResponse | None:
        """The person's answers for this visit; None before their first submission."""
        with db.session() as session:
            row = session.scalar(_by_owner(owner))
            return self._stored(row) if row is not None else None

    def new_key(self) -> str:
        """A key for a new row (it is part of the response's identifier)."""
        return secrets.token_hex(16)

    def submit(
        self,
        owner: Owner,
        key: str,
        answers: FormAnswers,
        response: dict[str, Any],
        *,
        launch_hash: str,
        granted_scopes: frozenset[str],
    ) -> None:
        """Commit the answers (new, or changing the person's row) as pending, to be sent."""
        now = now_utc()
        values: dict[str, Any] = {
            "launch_hash": launch_hash,
            "granted_scopes": " ".join(sorted(granted_scopes)),
            "sealed_answers": self._vault.seal(answers.to_json()),
            "sealed_response": self._vault.seal(response),
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now + FIRST_ATTEMPT_HOLD,
            "last_error": None,
            # A worker mid-attempt on the old answers loses its lease: it changes nothing
            # more, and the next attempt sends these (core/leases.py).
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
        }
        try:
            with db.session() as session:
                row = session.scalar(_by_owner(owner).with_for_update())
                if row is None:
                    session.add(
                        PrevisitResponse(
                            response_key=key,
                            iss=owner.iss,
                            patient=owner.patient,
                            author=owner.author,
                            visit_key=owner.visit_key,
                            created_at=now,
                            **values,
                        )
                    )
                else:
                    for name, value in values.items():
                        setattr(row, name, value)
        except IntegrityError:
            # Two tabs sent their first answers at once: the other row is kept, and these
            # answers go onto it, as a change.
            with db.session() as session:
                row = session.scalar(_by_owner(owner).with_for_update())
                assert row is not None
                for name, value in values.items():
                    setattr(row, name, value)
        log.info("previsit: answers queued")

    def responses_for(self, iss: str, patient: str) -> list[dict[str, Any]]:
        """Every response Flip keeps for the patient, as QuestionnaireResponse JSON."""
        with db.session() as session:
            rows = session.scalars(
                select(PrevisitResponse).where(
                    PrevisitResponse.iss == iss, PrevisitResponse.patient == patient
                )
            ).all()
            found = []
            for row in rows:
                try:
                    response: dict[str, Any] = self._vault.open(row.sealed_response)
                except SealBroken:
                    log.warning("previsit: a response sealed under a retired key is skipped")
                    continue
                # The EHR's id once it took it, so the visit names one resource either way.
                found.append({**response, "id": row.ehr_id or f"flip-{row.response_key}"})
            return found

    def row(self, key: str) -> tuple[dict[str, Any], PrevisitResponse] | None:
        """The sealed response of a row and the row itself (detached), for the worker."""
        with db.session() as session:
            row = session.scalar(
                select(PrevisitResponse).where(PrevisitResponse.response_key == key)
            )
            if row is None:
                return None
            response: dict[str, Any] = self._vault.open(row.sealed_response)
            session.expunge(row)
            return response, row

    def _stored(self, row: PrevisitResponse) -> StoredResponse:
        return StoredResponse(
            key=row.response_key,
            answers=FormAnswers.from_json(self._vault.open(row.sealed_answers)),
            state=row.state,
            last_error=row.last_error,
            ehr_id=row.ehr_id,
        )


def _by_owner(owner: Owner) -> Any:
    return select(PrevisitResponse).where(
        PrevisitResponse.iss == owner.iss,
        PrevisitResponse.patient == owner.patient,
        PrevisitResponse.author == owner.author,
        PrevisitResponse.visit_key == owner.visit_key,
    )
