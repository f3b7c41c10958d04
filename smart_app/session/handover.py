"""Handing the clinician's launch to the patient on the clinic's tablet, and back.

At check-in, staff press "Hand to the patient" on the visit page: from then on that launch
shows only the pre-visit form (roles.py refuses every clinician page to it, so the back
button brings nothing back), one person's turn at a time, until "hand the tablet back"
ends it for good. Getting the visit back takes opening Flip again from the chart: a new
launch.
"""

from __future__ import annotations

from sqlalchemy import select

from smart_app.core.db import db
from smart_app.core.models import LaunchSession
from smart_app.core.vault import digest

TABLET, ENDED = "tablet", "ended"
SOMEONE_ELSE = "other"  # the answerer who is neither the patient nor a parent on the chart


def hand_over(launch_id: str) -> None:
    """Turn the launch into the tablet's form; nobody's turn yet."""
    _change(launch_id, handover=TABLET, answerer=None)


def take_turn(launch_id: str, answerer: str) -> None:
    """Whose turn it is: "Patient/1", "RelatedPerson/2" or SOMEONE_ELSE."""
    _change(launch_id, handover=TABLET, answerer=answerer)


def hand_back(launch_id: str) -> None:
    """End the handed-over session: every page of this launch now asks for the tablet back,
    and so does every launch of the same patient this browser opened while handed over
    (the EHR's page reloaded on the tablet: session/launches.py)."""
    with db.session() as session:
        row = session.get(LaunchSession, digest(launch_id))
        if row is None or row.handover != TABLET:
            return
        same_tablet = [row]
        if row.browser_hash is not None:
            same_tablet += session.scalars(
                select(LaunchSession).where(
                    LaunchSession.browser_hash == row.browser_hash,
                    LaunchSession.iss == row.iss,
                    LaunchSession.patient == row.patient,
                    LaunchSession.handover == TABLET,
                )
            )
        for handed in same_tablet:
            handed.handover, handed.answerer = ENDED, None


def _change(launch_id: str, *, handover: str, answerer: str | None) -> None:
    with db.session() as session:
        row = session.get(LaunchSession, digest(launch_id))
        if row is not None and row.handover != ENDED:  # an ended handover never reopens
            row.handover, row.answerer = handover, answerer
