"""Which resources go to which server, and how: decided from its CapabilityStatement, the
granted scopes and the registration. Pure: no HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ehr_sandbox.fhir.capability import capability_statement
from launch.registrations import DEFAULT_SCOPE, Registration, RegistrationError, load_registrations
from smart_app.closing.write_strategy import (
    WritebackImpossible,
    WriteStrategy,
    decide_strategy,
    scopes_permit_create,
)

SANDBOX = capability_statement(base="http://ehr/fhir", public_url="http://ehr", smart=True)
GRANTED = frozenset(DEFAULT_SCOPE.split())
AUTO = Registration(iss="http://ehr/fhir", client_id="flip")


def server(
    writable: dict[str, bool], *, readable: tuple[str, ...] = (), transaction: bool = False
) -> dict[str, Any]:
    """A CapabilityStatement: {type: conditionalCreate} creatable, `readable` read-only."""
    resources = [
        {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"}],
            "conditionalCreate": conditional,
        }
        for kind, conditional in writable.items()
    ] + [
        {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}]}
        for kind in readable
    ]
    interactions = [{"code": "transaction"}] if transaction else []
    return {
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "resource": resources, "interaction": interactions}],
    }


# Oracle Health documents CarePlan and Goal as read-only, DocumentReference create allowed.
ORACLE = server(
    {"DocumentReference": False, "Provenance": False},
    readable=("CarePlan", "Goal", "Observation", "Patient"),
)


def test_strategy_sandbox_writes_careplan_goals_observation_in_one_transaction() -> None:
    strategy = decide_strategy(SANDBOX, GRANTED, AUTO)
    assert strategy == WriteStrategy(
        transaction=True, plan_as_careplan=True, write_observation=True, write_provenance=True
    )


def test_strategy_oracle_like_server_gets_the_plan_as_a_note() -> None:
    strategy = decide_strategy(ORACLE, GRANTED, AUTO)
    assert not strategy.plan_as_careplan
    assert not strategy.write_observation
    assert not strategy.transaction
    # No conditional create there: Flip searches by its identifier before creating.
    assert strategy.search_first == {"DocumentReference", "Provenance"}
    assert strategy.options("https://flip.example.org/fhir").plan_as_careplan is False


def test_strategy_without_transaction_uses_separate_conditional_creates() -> None:
    everything = dict.fromkeys(
        ("CarePlan", "Goal", "DocumentReference", "Observation", "Provenance"), True
    )
    strategy = decide_strategy(server(everything), GRANTED, AUTO)
    assert strategy.plan_as_careplan and not strategy.transaction
    assert strategy.search_first == frozenset()


def test_strategy_scopes_without_careplan_write_make_the_plan_a_note() -> None:
    scopes = {"patient/*.read", "patient/DocumentReference.write", "patient/Provenance.write"}
    strategy = decide_strategy(SANDBOX, scopes, AUTO)
    assert not strategy.plan_as_careplan
    assert not strategy.write_observation
    assert strategy.write_provenance


def test_strategy_without_any_note_create_fails_clearly_at_submit() -> None:
    with pytest.raises(WritebackImpossible, match="cannot be saved to the chart"):
        decide_strategy(ORACLE, {"patient/*.rs"}, AUTO)


def test_strategy_forced_by_registration() -> None:
    forced = Registration(
        iss="http://ehr/fhir",
        client_id="flip",
        write_strategy="separate",
        plan_as="note",
        write_observation="never",
        note_type=("http://loinc.org", "34133-9", "Summary of episode note"),
    )
    strategy = decide_strategy(SANDBOX, GRANTED, forced)
    assert not strategy.transaction
    assert not strategy.plan_as_careplan
    assert not strategy.write_observation
    assert strategy.options("https://x").note_type[1] == "34133-9"
    careplan_forced = Registration(iss="http://ehr/fhir", client_id="flip", plan_as="careplan")
    with pytest.raises(WritebackImpossible, match="CarePlan"):
        decide_strategy(ORACLE, GRANTED, careplan_forced)
    transaction_forced = Registration(
        iss="http://ehr/fhir", client_id="flip", write_strategy="transaction"
    )
    assert decide_strategy(ORACLE, GRANTED, transaction_forced).transaction


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("patient/CarePlan.write", True),
        ("patient/CarePlan.*", True),
        ("user/*.write", True),
        ("patient/CarePlan.c", True),
        ("user/CarePlan.cruds", True),
        ("patient/CarePlan.c?category=assess-plan", True),
        ("patient/CarePlan.read", False),
        ("patient/CarePlan.rs", False),
        ("patient/Goal.cruds", False),
        ("openid", False),
    ],
)
def test_scopes_permit_create_v1_and_v2(scope: str, allowed: bool) -> None:
    assert scopes_permit_create({scope}, "CarePlan") is allowed


def test_strategy_survives_its_json_form() -> None:
    strategy = decide_strategy(ORACLE, GRANTED, AUTO)
    assert WriteStrategy.from_json(json.loads(json.dumps(strategy.to_json()))) == strategy


def test_registration_write_settings_are_parsed(tmp_path: Path) -> None:
    file = tmp_path / "registrations.json"
    entry = {
        "iss": "https://ehr/fhir",
        "client_id": "flip",
        "write_strategy": "separate",
        "plan_as": "note",
        "write_observation": "never",
        "note_type": ["http://loinc.org", "11488-4", "Consult note"],
    }
    file.write_text(json.dumps({"registrations": [entry]}))
    registration = load_registrations(file).find("https://ehr/fhir")
    assert registration.write_strategy == "separate"
    assert registration.plan_as == "note"
    assert registration.write_observation == "never"
    assert registration.note_type == ("http://loinc.org", "11488-4", "Consult note")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("write_strategy", "batch", "write_strategy must be one of"),
        ("plan_as", "goal", "plan_as must be one of"),
        ("write_observation", "always", "write_observation must be one of"),
        ("note_type", ["http://loinc.org", "11488-4"], "note_type must be"),
    ],
)
def test_registration_bad_write_settings_name_the_field(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    file = tmp_path / "registrations.json"
    entry = {"iss": "https://ehr/fhir", "client_id": "flip", field: value}
    file.write_text(json.dumps({"registrations": [entry]}))
    with pytest.raises(RegistrationError, match=rf"registrations\[0\] {message}"):
        load_registrations(file)
