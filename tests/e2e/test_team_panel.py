"""The care team's clinic-day panel over real HTTP: a practitioner launched from the
schedule (no patient) sees the day's appointments and what each family said."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from launch.registrations import DEFAULT_SCOPE
from smart_app.team.panel import PAGE_SIZE
from tests.e2e.conftest import family_chart, launch, previsit
from tests.e2e.deployment import Browser, Deployment, deploy
from tests.e2e.test_long_charts import MORE_THAN_READ, goal, seed_all
from tests.e2e.test_plan import PLAN, close_agenda, wait_written
from tests.support.databases import sqlite_url

TEEN_SECRET = "I vape sometimes and do not want mom to know"
TODAY = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
# Ana is an infant: born five months before today (on a day every month has).
_MONTHS = TODAY.year * 12 + TODAY.month - 1 - 5
ANA_BORN = f"{_MONTHS // 12:04d}-{_MONTHS % 12 + 1:02d}-{min(TODAY.day, 28):02d}"


def book(ehr: Deployment, appointment_id: str, patient: str, start: datetime, **more: Any) -> None:
    practitioner = more.pop("practitioner", "dr1")
    ehr.seed(
        "Appointment",
        appointment_id,
        status=more.pop("status", "booked"),
        start=start.isoformat(),
        end=(start + timedelta(minutes=20)).isoformat(),
        participant=[
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{practitioner}"}, "status": "accepted"},
        ],
        **more,
    )


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Dr Osler's day: Maya (teen and mom answered), Ben (a care-team-only answer), and
    Ana (nobody yet); a cancelled visit; Dr Nguyen's own list; Ana tomorrow."""
    folder = tmp_path_factory.mktemp("panel")
    with sqlite_url(folder) as url, family_chart(url, folder) as ehr:
        teen = previsit("qr-ben", "Patient/p2", TEEN_SECRET)
        teen["subject"] = {"reference": "Patient/p2"}
        teen["item"].append({"linkId": "share-with-family", "answer": [{"valueBoolean": False}]})
        ehr.put(teen)
        ehr.seed("Patient", "p3", name=[{"given": ["Ana"], "family": "Reyes"}], birthDate=ANA_BORN)
        book(ehr, "a-ben", "p2", TODAY + timedelta(hours=1), reasonCode=[{"text": "CF review"}])
        book(ehr, "a-maya", "p1", TODAY, reasonCode=[{"text": "Weight check"}])
        book(ehr, "a-ana", "p3", TODAY + timedelta(hours=2))
        book(ehr, "a-gone", "p3", TODAY + timedelta(hours=3), status="cancelled")
        book(ehr, "a-nguyen", "p2", TODAY + timedelta(hours=4), practitioner="dr2")
        book(ehr, "a-tomorrow", "p3", TODAY + timedelta(days=1))
        ehr.seed("Location", "room-2", name="CF clinic room 2", status="active")
        ehr.seed(
            "Appointment",
            "a-room",
            status="booked",
            start=(TODAY + timedelta(hours=5)).isoformat(),
            participant=[
                {"actor": {"reference": "Patient/p3"}, "status": "accepted"},
                {"actor": {"reference": "Location/room-2"}, "status": "accepted"},
            ],
        )
        yield ehr


def open_panel(ehr: Deployment, practitioner: str = "dr1") -> tuple[Browser, requests.Response]:
    """Launch Flip from the EHR's schedule, as the sandbox's "Pre-visit panel" link does."""
    body = {"practitioner": practitioner}
    made = requests.post(f"{ehr.sandbox.url}/_sandbox/launches", json=body, timeout=10)
    assert made.status_code == 201, made.text
    browser = Browser()
    page = browser.launch(made.json()["launch_url"])
    assert page.status_code == 200, page.text
    return browser, page


def rows(page: requests.Response) -> list[str]:
    return re.findall(r"<li class=\"day-row\".*?</li>", page.text, re.S)


def test_a_launch_from_the_schedule_lists_the_days_appointments_in_time_order(
    clinic: Deployment,
) -> None:
    _, page = open_panel(clinic)
    assert page.url.endswith("/team")
    listed = rows(page)
    assert [re.search(r'data-patient-id="([^"]+)"', r).group(1) for r in listed] == [  # type: ignore[union-attr]
        "p1",
        "p2",
        "p3",
    ]  # the cancelled visit and Dr Nguyen's are not Dr Osler's day
    assert "2 of 3" in page.text and "answered" in page.text
    maya, ben, ana = listed
    assert "Maya Jones" in maya and "Weight check" in maya
    assert "Ben Okafor" in ben and "CF review" in ben
    assert "Lacrosse travel without my vest" in maya and "Answered by" in maya
    assert "(family)" in maya  # her mom answered too
    assert "Nobody has answered yet" in ana
    assert '<span class="quiet" data-age>5 mo</span>' in ana  # an infant's age in months
    assert "/chart/p1" in maya and 'target="_top"' in maya  # the row opens the chart


def test_a_care_team_only_answer_is_shown_and_marked(clinic: Deployment) -> None:
    _, page = open_panel(clinic)
    ben = rows(page)[1]
    assert "Care team only" in ben
    assert "I vape sometimes and do not want mom to know" in ben


def test_tomorrow_and_another_practitioner_are_picked_on_the_page(clinic: Deployment) -> None:
    browser, page = open_panel(clinic)
    tomorrow = browser.get(f"{page.url}?day=tomorrow")
    assert tomorrow.status_code == 200
    assert [r for r in rows(tomorrow) if 'data-patient-id="p3"' in r] and len(rows(tomorrow)) == 1
    assert "1 of 1" not in tomorrow.text and "0 of 1" in tomorrow.text
    nguyen = browser.get(f"{page.url}?practitioner=dr2")
    assert len(rows(nguyen)) == 1 and "Ben Okafor" in rows(nguyen)[0]
    assert "Ari Nguyen" in nguyen.text  # offered in the practitioner list
    room = browser.get(f"{page.url}?location=room-2")
    assert len(rows(room)) == 1 and "Ana Reyes" in rows(room)[0]
    assert "CF clinic room 2" in room.text


def test_the_partnering_view_is_reached_from_a_row(clinic: Deployment) -> None:
    browser, page = open_panel(clinic)
    link = re.search(r'href="([^"]+/team/patients/p1/partnering[^"]*)"', page.text)
    assert link is not None
    notes = browser.get(f"{clinic.flip_url}{link.group(1).replace('&amp;', '&')}")
    assert notes.status_code == 200
    assert "Maya Jones" in notes.text and "Back to the clinic day" in notes.text


def test_a_launch_from_the_schedule_has_no_visit(clinic: Deployment) -> None:
    browser, page = open_panel(clinic)
    visit = browser.get(page.url.replace("/team", "/visit"))
    assert visit.status_code == 409
    assert "Open the patient&#39;s chart in the EHR" in visit.text
    back = f'<a href="{urlsplit(page.url).path}" data-error-link>Back to the clinic day</a>'
    assert back in visit.text


def test_a_launch_from_one_chart_reads_no_other_patients_notes(clinic: Deployment) -> None:
    browser = Browser()
    page = browser.launch(clinic.ehr_launch_url("p1", "e-agenda"))
    assert page.status_code == 200 and "Today's clinic" in page.text
    other = browser.get(page.url.replace("/visit", "/team/patients/p2/partnering"))
    assert other.status_code == 403 and "Okafor" not in other.text
    assert (
        f'<a href="{urlsplit(page.url).path}" data-error-link>Back to the visit</a>' in other.text
    )
    panel = browser.get(page.url.replace("/visit", "/team"))
    assert panel.status_code == 200 and "Back to the visit" in panel.text


def test_a_day_past_one_page_of_appointments_is_paged_not_cut(tmp_path: Path) -> None:
    with sqlite_url(tmp_path) as url, deploy(url, tmp_path) as ehr:
        for n in range(PAGE_SIZE + 5):
            book(ehr, f"busy-{n}", "p1", TODAY + timedelta(minutes=n))
        _, page = open_panel(ehr)
        assert len(rows(page)) == PAGE_SIZE + 5
        assert "data-cut-short" not in page.text


def test_refused_reads_are_named_and_the_rest_still_shows(tmp_path: Path) -> None:
    refused = (
        "user/QuestionnaireResponse.rs",
        "user/RelatedPerson.rs",
        "user/DocumentReference.rs",
    )
    scope = " ".join(s for s in DEFAULT_SCOPE.split() if s not in refused)
    with sqlite_url(tmp_path) as url, deploy(url, tmp_path, scope=scope) as ehr:
        ehr.put(previsit("qr-maya", "Patient/p1", "Lacrosse travel without my vest"))
        book(ehr, "a-maya", "p1", TODAY)
        browser, page = open_panel(ehr)
        assert "Maya Jones" in page.text  # what could be read is shown
        refusal = re.search(r"<p[^>]*data-refused>(.*?)</p>", page.text, re.S)
        assert refusal is not None
        assert "pre-visit answers" in refusal.group(1) and "family members" in refusal.group(1)
        assert "Lacrosse" not in page.text
        # The partnering notes say they could not be read: never "none yet".
        notes = browser.get(page.url.replace("/team", "/team/patients/p1/partnering"))
        assert notes.status_code == 200
        refusal = re.search(r"<p[^>]*data-refused>(.*?)</p>", notes.text, re.S)
        assert refusal is not None and "partnering notes" in refusal.group(1)
        assert "No partnering notes or preferences yet" not in notes.text


@pytest.mark.parametrize("profile", ["open", "epic-like"])
def test_a_visit_finished_today_says_its_plan_is_saved_and_its_note_is_read(
    database_url: str, tmp_path: Path, profile: str
) -> None:
    with family_chart(database_url, tmp_path, profile=profile) as ehr:
        book(ehr, "a-maya", "p1", TODAY)
        _, before = open_panel(ehr)
        assert "Lacrosse" in rows(before)[0] and "data-plan-saved" not in before.text

        visit = launch(ehr)
        close_agenda(visit)
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        assert wait_written(visit)["state"] == "written"

        browser, after = open_panel(ehr)
        [row] = rows(after)
        assert "Visit done:" in row and "Nobody has answered yet" not in row
        assert "1 visit done" in after.text  # beside "0 of 1 answered"
        # Read back from the CarePlan, or from the Plan of care note where the EHR takes
        # no CarePlan: the later item and the goal are still open.
        assert "2 open items from the last plan" in row
        link = re.search(r'href="([^"]+/partnering[^"]*)"', row)
        assert link is not None
        notes = browser.get(f"{ehr.flip_url}{html.unescape(link.group(1))}")
        assert "Maya leads." in notes.text and "data-refused" not in notes.text


def test_a_chart_with_more_than_flip_reads_at_once_is_named_on_the_panel(
    tmp_path: Path,
) -> None:
    with sqlite_url(tmp_path) as url, deploy(url, tmp_path) as ehr:
        book(ehr, "a-maya", "p1", TODAY)
        _, page = open_panel(ehr)
        assert "data-charts-cut-short" not in page.text
        seed_all(ehr, [goal(f"g-{n}") for n in range(MORE_THAN_READ)])
        _, page = open_panel(ehr)
        notice = re.search(r"<p[^>]*data-charts-cut-short>(.*?)</p>", page.text, re.S)
        assert notice is not None
        assert "Flip reads at once of: last plans' goals." in html.unescape(notice.group(1))
        assert "Maya Jones" in rows(page)[0]  # the row is still listed


def test_the_patients_no_current_concern_is_shown_beside_a_parents_concern(
    tmp_path: Path,
) -> None:
    with sqlite_url(tmp_path) as url, deploy(url, tmp_path) as ehr:
        ehr.seed("RelatedPerson", "rp-mom", patient={"reference": "Patient/p1"},
                 relationship=[{"coding": [{"code": "MTH"}]}])  # fmt: skip
        ehr.put(previsit("qr-maya", "Patient/p1", None))  # "no current concern"
        ehr.put(previsit("qr-mom", "RelatedPerson/rp-mom", "Her weight gain this winter"))
        book(ehr, "a-maya", "p1", TODAY)
        _, page = open_panel(ehr)
        assert "Her weight gain this winter" in page.text
        said = re.search(r"<p[^>]*data-no-concern-from>(.*?)</p>", page.text, re.S)
        assert said is not None and said.group(1) == "Maya: no current concern"
