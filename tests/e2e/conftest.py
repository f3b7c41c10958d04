"""Fixtures of the end-to-end tests: a family's visit in the sandbox chart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from benchmarks.browser import meta_tags
from fhir_mappings.codes import questionnaire_url
from tests.e2e.deployment import ACT_CODE, ROLE_CODE, Browser, Deployment, deploy

NOW = datetime.now(UTC)


def previsit(
    response_id: str, author: str, number_one: str | None, *others: str, days_ago: int = 2
) -> dict[str, Any]:
    """A QuestionnaireResponse to Flip's pre-visit Questionnaire."""
    items: list[dict[str, Any]] = []
    if number_one:
        items.append({"linkId": "number-one-concern", "answer": [{"valueString": number_one}]})
    else:
        items.append({"linkId": "no-current-concern", "answer": [{"valueBoolean": True}]})
    if others:
        items.append({"linkId": "other-concerns", "answer": [{"valueString": o} for o in others]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": f"{questionnaire_url()}|1.0.0",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "author": {"reference": author},
        "authored": (NOW - timedelta(days=days_ago)).isoformat(),
        "item": items,
    }


@pytest.fixture
def family_visit(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Maya (a teen) and her mom answered; the clinician booked 'weight gain' too."""
    with family_chart(database_url, tmp_path) as deployment:
        yield deployment


@contextmanager
def family_chart(
    database_url: str, folder: Path, *, answered: bool = True, **sandbox_settings: Any
) -> Iterator[Deployment]:
    """The sandbox and Flip with Maya's family (and, if `answered`, their pre-visit answers
    in the chart)."""
    with deploy(database_url, folder, **sandbox_settings) as deployment:
        deployment.seed("Practitioner", "dr2", name=[{"family": "Nguyen", "given": ["Ari"]}])
        deployment.seed(
            "RelatedPerson",
            "rp-mom",
            patient={"reference": "Patient/p1"},
            name=[{"given": ["Dana"], "family": "Jones"}],
            relationship=[{"coding": [{"system": ROLE_CODE, "code": "MTH"}]}],
        )
        deployment.seed(
            "Encounter",
            "e-agenda",
            status="in-progress",
            subject={"reference": "Patient/p1"},
            period={"start": NOW.isoformat()},
            reasonCode=[{"text": "Weight gain and enzyme dosing"}, {"text": "Review FEV1 trend"}],
            **{"class": {"system": ACT_CODE, "code": "AMB"}},
        )
        if answered:
            deployment.put(
                previsit("qr-teen", "Patient/p1", "Lacrosse travel without my vest", "Sleepovers")
            )
            deployment.put(
                previsit("qr-mom", "RelatedPerson/rp-mom", "Her weight gain this winter")
            )
        yield deployment


@pytest.fixture
def no_answers_yet(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Maya (15) and her mom have not answered; Maya has a visit booked for tomorrow."""
    with family_chart(database_url, tmp_path, answered=False) as ehr:
        teen_with_a_visit_tomorrow(ehr)
        yield ehr


def teen_with_a_visit_tomorrow(ehr: Deployment) -> None:
    """Maya is 15, and booked for tomorrow afternoon."""
    born = (NOW - timedelta(days=15 * 365 + 30)).date().isoformat()
    ehr.seed("Patient", "p1", name=[{"given": ["Maya"], "family": "Jones"}], birthDate=born)
    ehr.seed(
        "Appointment",
        "appt-tomorrow",
        status="booked",
        start=(NOW + timedelta(days=1)).replace(hour=15, minute=0).isoformat(),
        participant=[{"actor": {"reference": "Patient/p1"}, "status": "accepted"}],
    )


class Visit:
    """A launched visit page and its API, as the page's script uses it."""

    def __init__(self, ehr: Deployment, browser: Browser, page: requests.Response) -> None:
        assert page.status_code == 200, page.text
        self.ehr, self.browser, self.page = ehr, browser, page
        metas = meta_tags(page.text)
        self.api = f"{ehr.flip_url}{metas['flip-api-base']}"
        self.headers = browser.api_headers(page)

    def get(self) -> dict[str, Any]:
        answer = self.browser.http.get(f"{self.api}/visit", headers=self.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def send(self, method: str, path: str, body: Any) -> requests.Response:
        return self.browser.http.request(
            method, f"{self.api}{path}", json=body, headers=self.headers, timeout=30
        )


def launch(ehr: Deployment, *, practitioner: str = "dr1") -> Visit:
    browser = Browser()
    body = {"patient": "p1", "encounter": "e-agenda", "practitioner": practitioner}
    url = requests.post(f"{ehr.sandbox.url}/_sandbox/launches", json=body, timeout=10).json()
    return Visit(ehr, browser, browser.launch(url["launch_url"]))
