"""The sandbox EHR's own pages: the clinic day, a chart with the app in a sidebar.

The patient portal has its own module, `ehr_sandbox.portal`.

Opening a chart performs a SMART EHR launch, as a real EHR does: it stores a launch context
(patient, encounter, signed-in practitioner) and frames the app at
`{app_launch_url}?iss={fhir_base}&launch={id}`. See
https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from sqlalchemy.orm import Session

from ehr_sandbox.config import SandboxSettings
from ehr_sandbox.demo import demo_practitioner_id
from ehr_sandbox.demo.bundle import MRN_SYSTEM
from ehr_sandbox.faults import LOOPBACK
from ehr_sandbox.fhir.store import list_resources, read_resource
from ehr_sandbox.launch_context import LaunchContext, create_launch
from ehr_sandbox.state import current_state

bp = Blueprint("pages", __name__)

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PatientSummary:
    """What the EHR shows about a patient in lists and in the chart banner."""

    id: str
    name: str
    birth_date: str
    age: str
    gender: str
    mrn: str


@dataclass(frozen=True, slots=True)
class Visit:
    """One of today's appointments, with the encounter the chart opens."""

    time: str
    patient: PatientSummary
    practitioner: str
    reason: str
    encounter_id: str | None


@bp.get("/")
def home() -> str:
    """The clinic day: every patient and today's appointments, each linking to a chart."""
    with current_state().db.session() as session:
        patients = [summarize_patient(p) for p in list_resources(session, "Patient")]
        visits = todays_visits(session, date.today())
    return render_template("home.html", patients=patients, visits=visits)


@bp.get("/clinic-day/panel")
def panel() -> str:
    """The app launched from the schedule, with no patient: the care team's clinic day."""
    settings = current_state().settings
    with current_state().db.session() as session:
        launch_id = create_launch(
            session,
            LaunchContext(
                patient=None,
                practitioner=signed_in_practitioner(settings, request.args.get("practitioner")),
                need_patient_banner=False,
                smart_style_url=smart_style_url(settings),
            ),
        )
    return render_template("panel.html", launch_url=launch_url(settings, launch_id))


@bp.get("/chart/<patient_id>")
def chart(patient_id: str) -> tuple[str, int] | str:
    """A patient's chart with the app launched in the sidebar frame."""
    settings = current_state().settings
    with current_state().db.session() as session:
        patient = read_resource(session, "Patient", patient_id)
        if patient is None:
            return render_template("chart.html", missing_id=patient_id, patient=None), 404
        encounter = _chart_encounter(session, patient_id, request.args.get("encounter"))
        launch_id = create_launch(
            session,
            LaunchContext(
                patient=patient_id,
                encounter=None if encounter is None else encounter["id"],
                practitioner=signed_in_practitioner(settings, request.args.get("practitioner")),
                need_patient_banner=request.args.get("need_patient_banner") == "1",
                smart_style_url=smart_style_url(settings),
            ),
        )
        conditions = [
            _text(c.get("code"))
            for c in list_resources(session, "Condition", patient_id=patient_id)
        ]
        observations = latest_observations(
            list_resources(session, "Observation", patient_id=patient_id)
        )
    return render_template(
        "chart.html",
        patient=summarize_patient(patient),
        reason=None if encounter is None else _reason(encounter),
        conditions=conditions,
        observations=observations,
        launch_url=launch_url(settings, launch_id),
        frame_sandbox=settings.app_frame_sandbox,
        # The app's CDS card, fetched by the page once shown (ehr_sandbox/cds_client.py).
        cds_cards_url=url_for("cds_client.cards", patient_id=patient_id, launch=launch_id),
    )


@bp.post("/_sandbox/launches")
def create_launch_for_tools() -> tuple[Response, int]:
    """Create an EHR launch for the CLI and tests: 201 with the app's launch URL."""
    if request.remote_addr not in LOOPBACK:
        return jsonify({"error": "launch creation answers loopback clients only"}), 403
    body = request.get_json(silent=True)
    # Without a patient, a practitioner's launch from the schedule: the app's clinic day.
    if not isinstance(body, dict) or not isinstance(
        body.get("patient") or body.get("practitioner"), str
    ):
        return jsonify({"error": "send JSON with a 'patient' or a 'practitioner' id"}), 400
    settings = current_state().settings
    with current_state().db.session() as session:
        patient = body.get("patient")
        if patient is not None and read_resource(session, "Patient", str(patient)) is None:
            return jsonify({"error": f"no Patient with id {patient!r}"}), 400
        encounter = body.get("encounter")
        if encounter is not None and read_resource(session, "Encounter", str(encounter)) is None:
            return jsonify({"error": f"no Encounter with id {encounter!r}"}), 400
        launch_id = create_launch(
            session,
            LaunchContext(
                patient=None if patient is None else str(patient),
                encounter=None if encounter is None else str(encounter),
                practitioner=signed_in_practitioner(settings, body.get("practitioner")),
                need_patient_banner=bool(body.get("need_patient_banner", False)),
                smart_style_url=smart_style_url(settings),
            ),
        )
    return jsonify({"launch": launch_id, "launch_url": launch_url(settings, launch_id)}), 201


def launch_url(settings: SandboxSettings, launch_id: str) -> str:
    """The app's EHR launch URL with `iss` and `launch`, URL-encoded."""
    query = urlencode({"iss": settings.fhir_base, "launch": launch_id})
    separator = "&" if "?" in settings.app_launch_url else "?"
    return f"{settings.app_launch_url}{separator}{query}"


def smart_style_url(settings: SandboxSettings) -> str:
    """Where the app finds the EHR's styling (SMART `smart_style_url`)."""
    return f"{settings.public_url.rstrip('/')}/static/smart-style.json"


def signed_in_practitioner(settings: SandboxSettings, requested: Any) -> str:
    """Who the EHR user is: the requested practitioner, the configured one, or the demo one."""
    if isinstance(requested, str) and requested:
        return requested
    return settings.default_practitioner or demo_practitioner_id()


def summarize_patient(patient: Json, *, today: date | None = None) -> PatientSummary:
    """The banner fields of a Patient resource."""
    birth = str(patient.get("birthDate", ""))
    mrn = next(
        (
            i.get("value", "")
            for i in patient.get("identifier", [])
            if i.get("system") == MRN_SYSTEM
        ),
        "",
    )
    return PatientSummary(
        id=str(patient["id"]),
        name=human_name(patient.get("name")),
        birth_date=birth,
        age=age_text(birth, today or date.today()),
        gender=str(patient.get("gender", "unknown")),
        mrn=str(mrn),
    )


def human_name(names: Any) -> str:
    """`Given Family` of the first (official if any) HumanName."""
    if not isinstance(names, list) or not names:
        return "(no name)"
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text"):
        return str(name["text"])
    parts = [*name.get("prefix", []), *name.get("given", []), name.get("family", "")]
    return " ".join(p for p in parts if p) or "(no name)"


def age_text(birth: str, today: date) -> str:
    """An age as clinicians say it: months under two years, else years."""
    try:
        born = date.fromisoformat(birth)
    except ValueError:
        return ""
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    if months < 24:
        return f"{months} mo"
    return f"{months // 12} y"


def todays_visits(session: Session, today: date) -> list[Visit]:
    """Today's booked or arrived appointments, by start time."""
    encounters = {
        _ref_id(ref): str(e["id"])
        for e in list_resources(session, "Encounter")
        for ref in e.get("appointment", [])
    }
    visits: list[tuple[datetime, Visit]] = []
    for appointment in list_resources(session, "Appointment"):
        start = _instant(appointment.get("start"))
        if start is None or start.date() != today or appointment.get("status") == "cancelled":
            continue
        actors = [p.get("actor", {}) for p in appointment.get("participant", [])]
        patient_id = _first_of_type(actors, "Patient")
        patient = None if patient_id is None else read_resource(session, "Patient", patient_id)
        if patient is None:
            continue
        practitioner_id = _first_of_type(actors, "Practitioner")
        practitioner = (
            None
            if practitioner_id is None
            else read_resource(session, "Practitioner", practitioner_id)
        )
        visit = Visit(
            time=start.strftime("%H:%M"),
            patient=summarize_patient(patient, today=today),
            practitioner="" if practitioner is None else human_name(practitioner.get("name")),
            reason=_reason(appointment),
            encounter_id=encounters.get(str(appointment["id"])),
        )
        visits.append((start, visit))
    return [v for _, v in sorted(visits, key=lambda pair: pair[0])]


def latest_observations(observations: list[Json]) -> list[tuple[str, str, str]]:
    """(what, value, date) of the latest observation of each code, newest first."""
    latest: dict[str, Json] = {}
    for observation in observations:
        key = _text(observation.get("code"))
        when = str(observation.get("effectiveDateTime", ""))
        if key not in latest or when > str(latest[key].get("effectiveDateTime", "")):
            latest[key] = observation
    rows = []
    for what, observation in latest.items():
        quantity = observation.get("valueQuantity", {})
        value = f"{quantity.get('value', '')} {quantity.get('unit', '')}".strip()
        rows.append((what, value, str(observation.get("effectiveDateTime", ""))[:10]))
    return sorted(rows, key=lambda row: row[2], reverse=True)


def _chart_encounter(session: Session, patient_id: str, requested: str | None) -> Json | None:
    # Without ?encounter=, the chart opens today's visit when there is one, as an EHR
    # opened from the clinic schedule does.
    if requested:
        encounter = read_resource(session, "Encounter", requested)
        subject = None if encounter is None else _ref_id(encounter.get("subject", {}))
        return encounter if subject == patient_id else None
    today = date.today()
    for encounter in list_resources(session, "Encounter", patient_id=patient_id):
        start = _instant(encounter.get("period", {}).get("start"))
        if start is not None and start.date() == today:
            return encounter
    return None


def _reason(resource: Json) -> str:
    return "; ".join(_text(r) for r in resource.get("reasonCode", []))


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding", [])
    return str(codings[0].get("display") or codings[0].get("code", "")) if codings else ""


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _ref_id(reference: Any) -> str:
    return str(reference.get("reference", "")).rsplit("/", 1)[-1] if reference else ""


def _first_of_type(references: list[Json], resource_type: str) -> str | None:
    for reference in references:
        target = str(reference.get("reference", ""))
        if target.startswith(f"{resource_type}/"):
            return target.removeprefix(f"{resource_type}/")
    return None
