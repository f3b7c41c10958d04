"""The CapabilityStatement: exactly the types, interactions and search parameters served.

The interactions come from the base's write-rule profile (`profiles.py`), the same table
the server enforces, so what the statement says and what the server does cannot drift.

See https://hl7.org/fhir/R4/capabilitystatement.html and, for the SMART security block,
https://hl7.org/fhir/smart-app-launch/conformance.html.
"""

from __future__ import annotations

from ehr_sandbox.fhir.errors import JsonObject
from ehr_sandbox.fhir.profiles import OBSERVATION_CATEGORY, OPEN, Profile
from ehr_sandbox.fhir.resources import SUPPORTED_TYPES
from ehr_sandbox.fhir.search_params import CAPABILITY_TYPES, SEARCH_PARAMS

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def capability_statement(
    *, base: str, public_url: str, smart: bool, profile: Profile = OPEN
) -> JsonObject:
    """The CapabilityStatement of the FHIR base at `base`; `smart` adds the SMART security."""
    rest: JsonObject = {
        "mode": "server",
        "resource": [_resource(t, profile) for t in SUPPORTED_TYPES],
        "interaction": [{"code": code} for code in profile.system_interactions],
    }
    if smart:
        rest["security"] = {
            "cors": True,
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "SMART-on-FHIR",
                        }
                    ],
                    "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
                }
            ],
            "extension": [
                {
                    "url": OAUTH_URIS,
                    "extension": [
                        {"url": "authorize", "valueUri": f"{public_url}/auth/authorize"},
                        {"url": "token", "valueUri": f"{public_url}/auth/token"},
                    ],
                }
            ],
        }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "Flip sandbox EHR"},
        "implementation": {
            "description": f"Flip sandbox EHR FHIR server (write rules: {profile.name})",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [rest],
    }


def _resource(resource_type: str, profile: Profile) -> JsonObject:
    rule = profile.rule(resource_type)
    offered = (("read", True), ("create", rule.create), ("update", rule.update))
    statement: JsonObject = {
        "type": resource_type,
        "interaction": [
            *({"code": code} for code, allowed in offered if allowed),
            {"code": "search-type"},
        ],
        "versioning": "versioned-update",
        "readHistory": False,
        "updateCreate": rule.update and profile.update_create,
        # If-None-Exist is honoured on every create the profile accepts.
        "conditionalCreate": rule.create,
        "searchParam": [
            {"name": p.name, "type": CAPABILITY_TYPES[p.kind], "documentation": p.documentation}
            for p in SEARCH_PARAMS[resource_type].values()
        ],
    }
    if rule.observation_categories:
        # No CapabilityStatement element restricts a create by content: say it in words.
        codes = " or ".join(sorted(rule.observation_categories))
        statement["documentation"] = (
            f"create accepts only category {codes} ({OBSERVATION_CATEGORY})"
        )
    return statement
