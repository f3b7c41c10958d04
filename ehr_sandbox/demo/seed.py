"""Write a demo bundle straight into the sandbox store, without the FHIR HTTP API.

Seeding over HTTP (POST the bundle to the open FHIR base) is the normal way and exercises
the server; this path is for offline seeding and for page tests that need data but not a
FHIR server. It writes the same rows the server would: current version, patient compartment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ehr_sandbox.fhir.resources import compartment_of
from ehr_sandbox.fhir.store import ResourceRecord


def load_bundle_into_store(session: Session, bundle: dict[str, Any]) -> int:
    """Upsert every resource of a PUT transaction bundle; return how many were written."""
    now = datetime.now(UTC)
    written = 0
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        key = (resource["resourceType"], resource["id"])
        record = session.get(ResourceRecord, key)
        # No lookup needed: demo resources name their patient directly.
        patient = compartment_of(resource, lambda _type, _id: None)
        version = 1 if record is None else record.version_id + 1
        content = {
            **resource,
            "meta": {"versionId": str(version), "lastUpdated": now.isoformat()},
        }
        if record is None:
            session.add(
                ResourceRecord(
                    resource_type=key[0],
                    id=key[1],
                    version_id=version,
                    last_updated=now,
                    patient_id=patient,
                    content=content,
                )
            )
        else:
            record.version_id = version
            record.last_updated = now
            record.patient_id = patient
            record.content = content
        written += 1
    return written
