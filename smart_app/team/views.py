"""The care team's clinic-day panel, bound to one clinician's launch (`/l/<id>/team`).

A clinician launched from the EHR's schedule (no patient) lands here; the visit page
links here too ("Today's clinic"). Page routes take POST for the tab's binding
(session/binding.py).
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for

from smart_app.core.registry import service
from smart_app.core.validation import InvalidRequest
from smart_app.session.binding import LAUNCH_PREFIX, bind_to_launch
from smart_app.session.roles import OtherPatient, require_clinician
from smart_app.team.panel import FHIR_ID, TeamPanel
from smart_app.visit.reader import VisitReaders

bp = Blueprint("team", __name__, template_folder="templates")
bind_to_launch(bp, check_user=require_clinician)


@bp.route(f"{LAUNCH_PREFIX}/team", methods=["GET", "POST"])
def panel() -> str:
    """The day's appointments: who has answered, their number one concern, how they partner."""
    day = service(TeamPanel).clinic_day(
        g.launch,
        day=request.values.get("day"),
        practitioner=request.values.get("practitioner") or None,
        location=request.values.get("location") or None,
    )
    return render_template(
        "team/panel.html",
        day=day,
        chart_url=service(TeamPanel).chart_url(g.launch),
        with_patient=bool(g.launch.context.patient),
    )


@bp.route(f"{LAUNCH_PREFIX}/team/patients/<patient_id>/partnering", methods=["GET", "POST"])
def partnering(patient_id: str) -> str:
    """One listed patient's partnering notes and preferences, newest first."""
    if not FHIR_ID.fullmatch(patient_id):
        raise InvalidRequest("That is not a patient's FHIR id.")
    if g.launch.context.patient and patient_id != g.launch.context.patient:
        # A launch from one chart stays with its patient; only a launch from the schedule
        # reads the day's other patients (as far as the EHR's user/ scopes allow).
        raise OtherPatient("This Flip was opened from another patient's chart.")
    reader = service(VisitReaders).for_launch(g.launch)
    return render_template(
        "visit/partnering.html",
        history=reader.partnering_history(patient_id),
        zone=reader.clinic_zone,
        back_url=url_for("team.panel", day=request.values.get("day") or None),
        back_label="Back to the clinic day",
    )
