"""How to write the agreed plan to one server: decided from its CapabilityStatement, the
granted scopes and the registration's forced settings.

Pure (`decide_strategy`); the CapabilityStatement comes from launch.capabilities.
Oracle Health, for example, documents CarePlan and Goal as read-only
and DocumentReference create as allowed: there the plan becomes a Plan of care note, so it
is never dropped. See https://hl7.org/fhir/R4/capabilitystatement.html and, for scopes,
https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from fhir_mappings.writeback import WriteOptions
from launch.capabilities import scopes_permit
from launch.fhir_errors import FhirFatalError
from launch.registrations import Registration


class WritebackImpossible(FhirFatalError):
    """Neither the plan nor a note can be written to this server with the granted scopes."""


@dataclass(frozen=True, slots=True)
class WriteStrategy:
    """What to write and how, for one plan on one server."""

    transaction: bool  # one transaction Bundle, else separate conditional creates
    plan_as_careplan: bool  # CarePlan + Goals, else a Plan of care note
    write_observation: bool
    write_provenance: bool
    # Types whose create is not conditional on this server: search by identifier first.
    search_first: frozenset[str] = frozenset()
    note_type: tuple[str, str, str] | None = None

    def options(self, base: str) -> WriteOptions:
        """The mapping options that build this strategy's resources."""
        options = WriteOptions(
            base=base,
            plan_as_careplan=self.plan_as_careplan,
            write_observation=self.write_observation,
        )
        return replace(options, note_type=self.note_type) if self.note_type else options

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form, stored with the outbox row."""
        return {
            "transaction": self.transaction,
            "plan_as_careplan": self.plan_as_careplan,
            "write_observation": self.write_observation,
            "write_provenance": self.write_provenance,
            "search_first": sorted(self.search_first),
            "note_type": list(self.note_type) if self.note_type else None,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WriteStrategy:
        """The strategy stored by `to_json`."""
        note_type = value.get("note_type")
        return cls(
            transaction=bool(value["transaction"]),
            plan_as_careplan=bool(value["plan_as_careplan"]),
            write_observation=bool(value["write_observation"]),
            write_provenance=bool(value["write_provenance"]),
            search_first=frozenset(value.get("search_first") or ()),
            note_type=(note_type[0], note_type[1], note_type[2]) if note_type else None,
        )


@dataclass(frozen=True, slots=True)
class ServerWrites:
    """What a CapabilityStatement says about writing."""

    transaction: bool
    creatable: frozenset[str]
    conditional: frozenset[str]


def server_writes(statement: Mapping[str, Any]) -> ServerWrites:
    """Transaction support, and per type create and conditionalCreate, of a server."""
    transaction = False
    creatable: set[str] = set()
    conditional: set[str] = set()
    for rest in statement.get("rest") or []:
        if rest.get("mode", "server") != "server":
            continue
        codes_ = {i.get("code") for i in rest.get("interaction") or []}
        transaction = transaction or "transaction" in codes_
        for resource in rest.get("resource") or []:
            kind = resource.get("type")
            if not isinstance(kind, str):
                continue
            if any(i.get("code") == "create" for i in resource.get("interaction") or []):
                creatable.add(kind)
                if resource.get("conditionalCreate") is True:
                    conditional.add(kind)
    return ServerWrites(transaction, frozenset(creatable), frozenset(conditional))


def scopes_permit_create(scopes: Iterable[str], resource_type: str) -> bool:
    """True when a SMART v1 (`.write`, `.*`) or v2 (`.c`, `.cruds`) scope grants create."""
    return scopes_permit(scopes, resource_type, "c")


def decide_strategy(
    statement: Mapping[str, Any],
    granted_scopes: Iterable[str],
    registration: Registration,
    *,
    has_goals: bool = True,
    has_partnering_note: bool = True,
) -> WriteStrategy:
    """The strategy for this server, scopes and registration; WritebackImpossible if none."""
    server = server_writes(statement)
    scopes = frozenset(granted_scopes)

    def can_create(resource_type: str) -> bool:
        return resource_type in server.creatable and scopes_permit_create(scopes, resource_type)

    careplan_possible = can_create("CarePlan") and (not has_goals or can_create("Goal"))
    note_possible = can_create("DocumentReference")
    if registration.plan_as == "careplan":
        if not careplan_possible:
            raise WritebackImpossible(
                "Flip is set to write the plan as a CarePlan, but this EHR does not let it "
                "create CarePlan and Goal."
            )
        as_careplan = True
    else:
        as_careplan = registration.plan_as == "auto" and careplan_possible
    if (not as_careplan or has_partnering_note) and not note_possible:
        raise WritebackImpossible(
            "This EHR does not let Flip create clinical notes (DocumentReference), so the "
            "plan and the partnering note cannot be saved to the chart."
        )
    observation = registration.write_observation == "auto" and can_create("Observation")
    provenance = can_create("Provenance")
    written = {"DocumentReference"} | ({"CarePlan", "Goal"} if as_careplan else set())
    written |= {"Observation"} if observation else set()
    written |= {"Provenance"} if provenance else set()
    search_first = frozenset(t for t in written if t not in server.conditional)
    if registration.write_strategy == "auto":
        # ifNoneExist inside a transaction needs conditional create on every type written.
        transaction = server.transaction and not search_first
    else:
        transaction = registration.write_strategy == "transaction"
    return WriteStrategy(
        transaction=transaction,
        plan_as_careplan=as_careplan,
        write_observation=observation,
        write_provenance=provenance,
        search_first=frozenset() if transaction else search_first,
        note_type=registration.note_type,
    )
