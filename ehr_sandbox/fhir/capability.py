"""The CapabilityStatement: exactly the types, interactions and search parameters served.

See https://hl7.org/fhir/R4/capabilitystatement.html and, for the SMART security block,
https://hl7.org/fhir/smart-app-launch/conformance.html.
"""

from __future__ import annotations

from ehr_sandbox.fhir.errors import JsonObject
from ehr_sandbox.fhir.resources import SUPPORTED_TYPES
from ehr_sandbox.fhir.search_params import CAPABILITY_TYPES, SEARCH_PARAMS

_INTERACTIONS = ("read", "create", "update", "search-type")
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def capability_statement(*, base: str, public_url: str, smart: bool) -> JsonObject:
    """The CapabilityStatement of the FHIR base at `base`; `smart` adds the SMART security."""
    rest: JsonObject = {
        "mode": "server",
        "resource": [_resource(t) for t in SUPPORTED_TYPES],
        "interaction": [{"code": "batch"}, {"code": "transaction"}],
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
        "implementation": {"description": "Flip sandbox EHR FHIR server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [rest],
    }


def _resource(resource_type: str) -> JsonObject:
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in _INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": False,
        "updateCreate": True,
        "conditionalCreate": True,
        "searchParam": [
            {"name": p.name, "type": CAPABILITY_TYPES[p.kind], "documentation": p.documentation}
            for p in SEARCH_PARAMS[resource_type].values()
        ],
    }
