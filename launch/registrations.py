"""Flip's registrations with EHRs, keyed by `iss`, read from a JSON file.

```json
{"registrations": [{
  "iss": "https://ehr.example.org/fhir",
  "client_id": "flip",
  "client_type": "public" | "symmetric" | "asymmetric",
  "client_secret": "... (symmetric)",
  "private_key_file": "keys/flip-es384.jwk.json (asymmetric: a private JWK)",
  "signing_alg": "RS384" | "ES384",
  "scope": "launch openid fhirUser ...",
  "site_questionnaires": ["https://portal.example.org/Questionnaire/previsit"],
  "linkid_map": {"q1": "number-one-concern"},
  "write_strategy": "auto" | "transaction" | "separate",
  "plan_as": "auto" | "careplan" | "note",
  "write_observation": "auto" | "never",
  "note_type": ["http://loinc.org", "11506-3", "Progress note"]
}]}
```
The write settings force how Flip writes the agreed plan back; "auto" (the default) lets
the server's CapabilityStatement and the granted scopes decide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from launch.errors import LaunchError, UnknownIssuer

# QuestionnaireResponse create and update: a patient or parent sends (and changes) their
# pre-visit answers; a standalone launch keeps only that write (flow.py `_patient_facing`).
# Update (`u`) on the plan's resources: an edited plan is amended in place, and the note
# it replaces is marked superseded (smart_app/closing/amending.py).
DEFAULT_SCOPE = (
    "launch openid fhirUser online_access "
    "patient/Patient.rs patient/Encounter.rs patient/Appointment.rs "
    "patient/QuestionnaireResponse.crus patient/Observation.crus "
    "patient/DocumentReference.crus patient/CarePlan.crus patient/Goal.crus "
    "patient/RelatedPerson.rs user/Practitioner.rs patient/Provenance.crs "
    # The clinic-day panel reads the day's appointments and the listed patients' answers,
    # families and last plans, and a listed patient's partnering notes and recorded
    # preferences: what the signed-in clinician may see (smart_app/team/).
    "user/Appointment.rs user/Patient.rs user/QuestionnaireResponse.rs "
    "user/RelatedPerson.rs user/CarePlan.rs user/Goal.rs user/Location.rs "
    "user/DocumentReference.rs user/Observation.rs"
)
CLIENT_TYPES = ("public", "symmetric", "asymmetric")
SIGNING_ALGS = ("RS384", "ES384")
WRITE_STRATEGIES = ("auto", "transaction", "separate")
PLAN_AS = ("auto", "careplan", "note")
WRITE_OBSERVATION = ("auto", "never")
WriteStrategySetting = Literal["auto", "transaction", "separate"]
PlanAsSetting = Literal["auto", "careplan", "note"]
WriteObservationSetting = Literal["auto", "never"]


class RegistrationError(LaunchError):
    """The registrations file is malformed; the message says which entry and field."""

    advice = "Ask your administrator to correct Flip's registrations file."


@dataclass(frozen=True, slots=True)
class Registration:
    """How Flip is registered with one EHR (one FHIR base)."""

    iss: str
    client_id: str
    client_type: str = "public"
    client_secret: str | None = None
    private_jwk: Mapping[str, Any] | None = None
    signing_alg: str = "ES384"
    scope: str = DEFAULT_SCOPE
    standalone_scope: str | None = None
    # A site whose portal has its own pre-visit questionnaire: its canonical URLs, and
    # its linkIds mapped to Flip's (e.g. {"q1": "number-one-concern"}).
    site_questionnaires: tuple[str, ...] = ()
    linkid_map: Mapping[str, str] = field(default_factory=dict)
    # How the agreed plan is written back ("auto": as the server's capabilities allow).
    write_strategy: WriteStrategySetting = "auto"
    plan_as: PlanAsSetting = "auto"
    write_observation: WriteObservationSetting = "auto"
    # The partnering note's DocumentReference.type (system, code, display); None: default.
    note_type: tuple[str, str, str] | None = None
    # The EHR's web origins whose pages may frame Flip (CSP frame-ancestors); empty: the
    # origin of `iss`. An EHR whose chart is served from another origin names it here.
    frame_origins: tuple[str, ...] = ()
    # Where the EHR opens one patient's chart (`{patient}` is the Patient id), for the
    # clinic-day panel's rows; None: the EHR gives apps no such link.
    chart_url: str | None = None

    @property
    def framing_origins(self) -> tuple[str, ...]:
        """The origins allowed to frame Flip for this EHR."""
        if self.frame_origins:
            return self.frame_origins
        parts = urlsplit(self.iss)
        return (f"{parts.scheme}://{parts.netloc}",)

    @property
    def token_endpoint_auth_method(self) -> str:
        """The OAuth client authentication this registration uses."""
        return {
            "public": "none",
            "symmetric": "client_secret_basic",
            "asymmetric": "private_key_jwt",
        }[self.client_type]


class Registrations:
    """Every registration, looked up by iss (trailing slashes ignored)."""

    def __init__(self, registrations: Iterable[Registration]) -> None:
        self._by_iss = {_normalise(r.iss): r for r in registrations}

    def find(self, iss: str | None) -> Registration:
        """The registration for `iss`; UnknownIssuer when missing or unregistered."""
        if not iss:
            raise UnknownIssuer("The launch did not say which EHR it came from (no iss).")
        registration = self._by_iss.get(_normalise(iss))
        if registration is None:
            raise UnknownIssuer("This EHR (iss) is not registered with Flip.")
        return registration

    def __len__(self) -> int:
        return len(self._by_iss)

    def framing_origins(self) -> tuple[str, ...]:
        """Every origin allowed to frame Flip: each registered EHR's."""
        found = (o for r in self._by_iss.values() for o in r.framing_origins)
        return tuple(sorted(set(found)))


def load_registrations(path: str | Path) -> Registrations:
    """Read a registrations file; RegistrationError names the bad entry and field."""
    file = Path(path)
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise RegistrationError(f"Cannot read registrations file {file}: {exc}") from exc
    entries = document.get("registrations") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise RegistrationError(f"{file} must hold {{'registrations': [...]}}")
    return Registrations(_parse_entry(file, index, entry) for index, entry in enumerate(entries))


def _parse_entry(file: Path, index: int, entry: Any) -> Registration:
    where = f"{file} registrations[{index}]"
    if not isinstance(entry, dict):
        raise RegistrationError(f"{where} is not an object")
    for required in ("iss", "client_id"):
        if not isinstance(entry.get(required), str):
            raise RegistrationError(f"{where} needs '{required}'")
    client_type = entry.get("client_type", "public")
    if client_type not in CLIENT_TYPES:
        raise RegistrationError(f"{where} client_type must be one of {CLIENT_TYPES}")
    if client_type == "symmetric" and not entry.get("client_secret"):
        raise RegistrationError(f"{where} is symmetric and needs 'client_secret'")
    private_jwk = None
    if client_type == "asymmetric":
        key_file = entry.get("private_key_file")
        if not isinstance(key_file, str):
            raise RegistrationError(f"{where} is asymmetric and needs 'private_key_file'")
        key_path = (file.parent / key_file).resolve()
        try:
            private_jwk = json.loads(key_path.read_text())
        except (OSError, ValueError) as exc:
            raise RegistrationError(f"{where} private_key_file {key_path}: {exc}") from exc
    signing_alg = entry.get("signing_alg", "ES384")
    if signing_alg not in SIGNING_ALGS:
        raise RegistrationError(f"{where} signing_alg must be one of {SIGNING_ALGS}")
    return Registration(
        iss=entry["iss"],
        client_id=entry["client_id"],
        client_type=client_type,
        client_secret=entry.get("client_secret"),
        private_jwk=private_jwk,
        signing_alg=signing_alg,
        scope=entry.get("scope", DEFAULT_SCOPE),
        standalone_scope=entry.get("standalone_scope"),
        site_questionnaires=tuple(entry.get("site_questionnaires", ())),
        linkid_map=dict(entry.get("linkid_map", {})),
        write_strategy=cast(
            WriteStrategySetting, _choice(entry, "write_strategy", WRITE_STRATEGIES, where)
        ),
        plan_as=cast(PlanAsSetting, _choice(entry, "plan_as", PLAN_AS, where)),
        write_observation=cast(
            WriteObservationSetting, _choice(entry, "write_observation", WRITE_OBSERVATION, where)
        ),
        note_type=_note_type(entry.get("note_type"), where),
        frame_origins=_origins(entry.get("frame_origins", ()), where),
        chart_url=_chart_url(entry.get("chart_url"), where),
    )


def _chart_url(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(
        r"https?://[^\s{}]+\{patient\}[^\s{}]*", value
    ):
        raise RegistrationError(f"{where} chart_url must be an http(s) URL holding {{patient}}")
    return value


def _origins(value: Any, where: str) -> tuple[str, ...]:
    # Each goes into a Content-Security-Policy header: only scheme://host[:port] is allowed.
    if not isinstance(value, list | tuple) or not all(
        isinstance(o, str) and re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", o)
        for o in value
    ):
        raise RegistrationError(f"{where} frame_origins must be a list of https://host[:port]")
    return tuple(value)


def _choice(entry: Mapping[str, Any], name: str, allowed: tuple[str, ...], where: str) -> str:
    value = entry.get(name, "auto")
    if value not in allowed:
        raise RegistrationError(f"{where} {name} must be one of {allowed}, not {value!r}")
    return str(value)


def _note_type(value: Any, where: str) -> tuple[str, str, str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(part, str) and part for part in value)
    ):
        raise RegistrationError(
            f"{where} note_type must be [system, code, display], e.g. "
            '["http://loinc.org", "11506-3", "Progress note"]'
        )
    return (value[0], value[1], value[2])


def _normalise(iss: str) -> str:
    return iss.rstrip("/")
