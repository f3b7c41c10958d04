"""Write-rule profiles: which creates, updates and Bundles the SMART-protected base accepts.

`open` accepts every write, as the sandbox always has. `epic-like` and `oracle-like` keep
the write rules Epic and Oracle Health publish for their R4 APIs, so a test against the
sandbox proves the app's fallbacks against rules a real EHR keeps. The tables below are
the only copy: the CapabilityStatement (`capability.py`) and the enforcement
(`operations.py`, `bundles.py`) both read them. Reads and searches are never restricted,
and the loopback `/open/fhir` base always uses `open`, for seeding and checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Only the light errors module: the `flip` command imports this for its --profile choices.
from ehr_sandbox.fhir.errors import FhirError, JsonObject

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Epic lists each R4 API (e.g. "CarePlan.Read", "Observation.Create (Vitals)") per resource.
EPIC_R4_APIS = "https://fhir.epic.com/Specifications"
# Oracle Health's R4 reference lists every endpoint per resource (GET, POST, PUT).
ORACLE_R4_APIS = (
    "https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfrap/index.html"
)


@dataclass(frozen=True, slots=True)
class TypeRule:
    """The writes a profile accepts on one resource type; reads are always accepted."""

    create: bool = False
    update: bool = False
    # For Observation: a create must carry one of these category codes (OBSERVATION_CATEGORY
    # system); empty accepts any category.
    observation_categories: frozenset[str] = frozenset()


READ_ONLY = TypeRule()
READ_WRITE = TypeRule(create=True, update=True)


@dataclass(frozen=True, slots=True)
class Profile:
    """One profile's write rules: per resource type, and for Bundles posted to the base."""

    name: str
    types: Mapping[str, TypeRule]
    otherwise: TypeRule  # the rule of every type `types` does not list
    batch: bool
    transaction: bool
    # PUT to an id that does not exist yet creates it (rest.resource.updateCreate).
    update_create: bool

    def rule(self, resource_type: str) -> TypeRule:
        """The rule of one resource type."""
        return self.types.get(resource_type, self.otherwise)

    @property
    def system_interactions(self) -> tuple[str, ...]:
        """The system-level interactions (`batch`, `transaction`) the base accepts."""
        offered = (("batch", self.batch), ("transaction", self.transaction))
        return tuple(code for code, allowed in offered if allowed)

    def check_create(self, resource: JsonObject) -> None:
        """405 when this profile has no create of the type; 422 for a refused category."""
        resource_type = str(resource["resourceType"])
        rule = self.rule(resource_type)
        if not rule.create:
            raise self._refusal(f"create of {resource_type}")
        wanted = rule.observation_categories
        if wanted and not _observation_categories(resource) & wanted:
            raise FhirError(
                422,
                f"This server creates only {resource_type}s with category "
                f"{' or '.join(sorted(wanted))} ({OBSERVATION_CATEGORY}); "
                f"sandbox profile {self.name}",
                code="business-rule",
            )

    def check_update(self, resource_type: str) -> None:
        """405 when this profile has no update of the type."""
        if not self.rule(resource_type).update:
            raise self._refusal(f"update of {resource_type}")

    def check_update_create(self, resource_type: str) -> None:
        """405 when a PUT would create a resource and this profile has no update as create."""
        if not self.update_create:
            raise self._refusal(f"update as create (a client-assigned id) of {resource_type}")

    def check_bundle(self, bundle_type: str) -> None:
        """405 when this profile does not accept Bundles of this type posted to the base."""
        if bundle_type not in self.system_interactions:
            raise self._refusal(f"{bundle_type} Bundles", allow="POST" if self.batch else "")

    def _refusal(self, what: str, *, allow: str = "GET") -> FhirError:
        # RFC 9110 section 15.5.6: a 405 names the methods the target does support.
        return FhirError(
            405,
            f"This server does not support {what} (sandbox profile {self.name})",
            headers={"Allow": allow},
        )


def _observation_categories(resource: JsonObject) -> frozenset[str]:
    categories = resource.get("category")
    return frozenset(
        str(coding.get("code"))
        for category in (categories if isinstance(categories, list) else [])
        if isinstance(category, dict)
        for coding in category.get("coding") or []
        if isinstance(coding, dict) and coding.get("system") == OBSERVATION_CATEGORY
    )


OPEN = Profile(
    name="open",
    # Every stored type, created and updated freely: the sandbox before profiles existed,
    # and what a general FHIR server (HAPI, Medplum) accepts out of the box.
    types={},
    otherwise=READ_WRITE,
    batch=True,
    transaction=True,
    update_create=True,
)

# Both vendor-like profiles refuse what their vendor's documentation does not show: a type
# not listed (Patient, Encounter, Condition...) is read-only here, since the app never
# writes one and seeding goes through /open/fhir. Updates are accepted only where the
# documentation shows one: the app amends a note by creating a new DocumentReference that
# `replaces` the old one (DESIGN.md), so refusing an update costs it nothing it needs.
# `batch` stays on both: it is how the app reads the visit in one round trip, and every
# write inside a batch is judged like the same request sent alone (a refused one gets its
# own 405 entry), so batch lets through no write these rules refuse. `transaction` is off
# on both: neither vendor accepts transaction writes of these resources, so a transaction
# Bundle fails whole (405) and the app must write each resource on its own. The vendors'
# creates are POSTs with server-assigned ids, so neither profile creates through PUT.
EPIC_LIKE = Profile(
    name="epic-like",
    types={
        # EPIC_R4_APIS: no CarePlan create in R4.
        "CarePlan": READ_ONLY,
        # EPIC_R4_APIS: Goal create exists only in STU3, none in R4.
        "Goal": READ_ONLY,
        # EPIC_R4_APIS: no Provenance create in R4.
        "Provenance": READ_ONLY,
        # EPIC_R4_APIS: DocumentReference create (clinical notes).
        "DocumentReference": TypeRule(create=True),
        # EPIC_R4_APIS: Observation create for vital signs and for flowsheet rows; rows are
        # keyed by Epic's own flowsheet ids, which no portable app sends, so only vital-signs
        # is modelled, and any other Observation is refused as Epic refuses it.
        "Observation": TypeRule(create=True, observation_categories=frozenset({"vital-signs"})),
        # EPIC_R4_APIS: QuestionnaireResponse create (patient-entered questionnaires).
        "QuestionnaireResponse": TypeRule(create=True),
    },
    otherwise=READ_ONLY,
    batch=True,
    transaction=False,
    update_create=False,
)

ORACLE_LIKE = Profile(
    name="oracle-like",
    types={
        # ORACLE_R4_APIS: CarePlan is read-only.
        "CarePlan": READ_ONLY,
        # ORACLE_R4_APIS: Goal is read-only.
        "Goal": READ_ONLY,
        # ORACLE_R4_APIS: no QuestionnaireResponse create.
        "QuestionnaireResponse": READ_ONLY,
        # ORACLE_R4_APIS: DocumentReference create and update (clinical notes), and
        # https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfdap/op-documentreference-post.html
        "DocumentReference": TypeRule(create=True, update=True),
        # ORACLE_R4_APIS: Observation create for vital signs and laboratory results only.
        "Observation": TypeRule(
            create=True, observation_categories=frozenset({"vital-signs", "laboratory"})
        ),
        # ORACLE_R4_APIS: Provenance create, see
        # https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfrap/op-provenance-post.html
        "Provenance": TypeRule(create=True),
    },
    otherwise=READ_ONLY,
    batch=True,
    transaction=False,
    update_create=False,
)

# Tests may add a profile here (monkeypatch) to try a combination no vendor has.
PROFILES: dict[str, Profile] = {p.name: p for p in (OPEN, EPIC_LIKE, ORACLE_LIKE)}
PROFILE_NAMES = tuple(PROFILES)


def profile_named(name: str) -> Profile:
    """The profile of this name; ValueError naming the choices when there is none."""
    try:
        return PROFILES[name]
    except KeyError:
        choices = ", ".join(PROFILES)
        raise ValueError(f"Unknown sandbox profile {name!r}; choose one of {choices}") from None
