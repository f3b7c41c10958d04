"""Patients and parents answer the pre-visit form through the sandbox portal, over real HTTP:
each sees only their own answers, the chart gets one response per person, and the
clinician's visit reads them, from the EHR or, where it takes none, from Flip's store."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import update

from fhir_mappings.previsit_form import FormAnswers
from launch import flow
from smart_app.core.db import db
from smart_app.core.models import LaunchSession
from smart_app.core.registry import service
from smart_app.previsit.outbox import PrevisitOutbox
from smart_app.previsit.service import PrevisitService
from smart_app.previsit.store import Owner, PrevisitStore
from tests.e2e.conftest import family_chart, launch, teen_with_a_visit_tomorrow
from tests.e2e.deployment import Browser, Deployment
from tests.e2e.test_plan import close_agenda, flip_resources, wait_written
from tests.e2e.test_roles import CLINICIAN_WORDS, portal_launch

TEEN_WORDS = "Lacrosse travel without my vest"
LINK_IDS = (
    "number-one-concern",
    "no-current-concern",
    "other-concerns",
    "partnering-style",
    "learning-preferences",
    "language",
)


def open_form(ehr: Deployment, user: str) -> tuple[Browser, requests.Response]:
    browser, page = portal_launch(ehr, user)
    assert page.status_code == 200, page.text
    assert "data-previsit" in page.text
    return browser, page


def send(browser: Browser, form: requests.Response, fields: list[tuple[str, str]]) -> Any:
    """Post the form as the browser does (no script: a plain form post), and follow Flip's
    redirect to the form saying what became of the answers."""
    sent = browser.http.post(
        f"{form.url.split('?')[0]}/answers",
        data=[*fields, ("flip_tab", browser.tab_binding(form.url))],
        allow_redirects=False,
        timeout=30,
    )
    if sent.status_code != 303:
        return sent
    return browser.get(urljoin(sent.url, sent.headers["Location"]))


def responses(ehr: Deployment) -> list[dict[str, Any]]:
    bundle = requests.get(
        f"{ehr.sandbox.open_fhir_base}/QuestionnaireResponse", params={"patient": "p1"}, timeout=10
    ).json()
    return [entry["resource"] for entry in bundle.get("entry", [])]


def wait_for(condition: Any, timeout_s: float = 10.0) -> Any:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    while datetime.now(UTC) < deadline:
        found = condition()
        if found:
            return found
    raise AssertionError("the outbox never got there")


def test_a_patient_launch_lands_on_the_form_and_sees_no_clinicians_words(
    no_answers_yet: Deployment,
) -> None:
    _, page = open_form(no_answers_yet, "Patient/p1")
    for link_id in LINK_IDS:
        assert f'data-link-id="{link_id}"' in page.text, link_id
    assert 'data-action="submit-previsit"' in page.text
    assert 'hreflang="es"' in page.text and 'hreflang="en"' in page.text
    for words in CLINICIAN_WORDS:
        assert words not in page.text
    # A teen is asked about sharing with nothing preselected, and names the booked visit.
    assert re.search(r'name="share-with-family" value="(yes|no)" checked', page.text) is None
    assert "your visit on" in page.text
    assert "related to your health?" in page.text  # the patient is asked about their own


def test_a_teen_answers_in_spanish_keeps_it_private_and_the_chart_gets_it_once(
    no_answers_yet: Deployment,
) -> None:
    browser, page = open_form(no_answers_yet, "Patient/p1")
    spanish = browser.get(f"{page.url}?lang=es")
    assert "Antes de su cita" in spanish.text
    assert "preocupación o meta número UNO" in spanish.text
    empty = send(browser, spanish, [("lang", "es")])
    assert empty.status_code == 422
    assert "Escriba su preocupación o meta número uno" in empty.text
    assert "Elija si su familia puede ver estas respuestas" in empty.text
    assert responses(no_answers_yet) == []  # nothing sent while something is missing

    sent = send(
        browser,
        spanish,
        [("lang", "es"), ("number-one-concern", TEEN_WORDS), ("share-with-family", "no"),
         ("other-concerns", "<script>alert(1)</script>"), ("language", "es")],
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert 'data-previsit-status="sent"' in sent.text
    assert "Enviado a su equipo de salud" in sent.text
    assert "<script>alert(1)</script>" not in sent.text  # escaped, kept as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sent.text
    (response,) = responses(no_answers_yet)
    assert response["status"] == "completed"
    assert response["author"] == {"reference": "Patient/p1"}
    assert response["source"] == {"reference": "Patient/p1"}
    assert response["subject"] == {"reference": "Patient/p1"}
    assert response["questionnaire"].endswith("|1.1.0")
    assert response["identifier"]["value"].startswith("previsit/")
    assert [label["code"] for label in response["meta"]["security"]] == ["R"]

    # Opened again: her own answers, to change; sending again amends the same response.
    again = browser.get(page.url)
    assert TEEN_WORDS in again.text
    changed = send(
        browser, again, [("number-one-concern", "Travel with my vest"), ("share-with-family", "no")]
    )
    assert 'data-previsit-status="sent"' in changed.text
    (amended,) = responses(no_answers_yet)
    assert amended["id"] == response["id"]
    assert amended["status"] == "amended"
    assert "Travel with my vest" in str(amended["item"])


def test_a_parent_never_sees_the_teens_words_and_the_visit_shows_the_teen_first(
    no_answers_yet: Deployment,
) -> None:
    teen, teen_form = open_form(no_answers_yet, "Patient/p1")
    send(teen, teen_form, [("number-one-concern", TEEN_WORDS), ("share-with-family", "no")])
    parent, parent_form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    assert TEEN_WORDS not in parent_form.text
    assert 'data-link-id="share-with-family"' not in parent_form.text  # only a patient decides
    assert 'data-link-id="respondent"' not in parent_form.text  # the sign-in says who
    # Asked about Maya's health and Maya's visit, not their own, in English and in Spanish.
    words = html.unescape(parent_form.text)
    assert "related to Maya's health?" in words and "For Maya's visit on" in words
    assert "<h1>Before Maya's visit</h1>" in words
    assert "How do you like to partner in Maya's health care?" in words
    assert "talk with Maya's care team?" in words and "Send to Maya's care team" in words
    assert "your health" not in words and "your care" not in words
    assert "Send to my care team" not in words
    spanish = html.unescape(parent.get(f"{parent_form.url}?lang=es").text)
    assert "meta número UNO sobre la salud de Maya?" in spanish
    assert "hablar con el equipo de salud de Maya?" in spanish
    assert "Enviar al equipo de salud de Maya" in spanish
    # The counter says "1 carácter de más", never "1 caracteres" (ngettext's forms).
    assert 'data-over-one="{count} carácter de más"' in spanish
    assert "Para la cita de Maya del" in spanish and "<h1>Antes de la cita de Maya</h1>" in spanish
    sent = send(parent, parent_form, [("number-one-concern", "Her weight gain this winter")])
    assert 'data-previsit-status="sent"' in sent.text
    assert TEEN_WORDS not in sent.text
    by_author = {r["author"]["reference"]: r for r in responses(no_answers_yet)}
    assert set(by_author) == {"Patient/p1", "RelatedPerson/rp-mom"}
    assert "security" not in by_author["RelatedPerson/rp-mom"].get("meta", {})

    agenda = launch(no_answers_yet).get()["agenda"]
    assert [item["text"] for item in agenda[:2]] == [TEEN_WORDS, "Her weight gain this winter"]
    assert agenda[0]["care_team_only"] is True
    assert agenda[1]["care_team_only"] is False


def test_an_ehr_that_takes_no_answers_still_gets_them_to_the_visit(
    database_url: str, tmp_path: Path
) -> None:
    with family_chart(database_url, tmp_path, answered=False, profile="oracle-like") as ehr:
        teen_with_a_visit_tomorrow(ehr)
        browser, form = open_form(ehr, "Patient/p1")
        sent = send(
            browser, form, [("number-one-concern", TEEN_WORDS), ("share-with-family", "yes")]
        )
        assert 'data-previsit-status="saved"' in sent.text  # never "sent": the EHR has none
        assert "Your care team will see your answers at your visit" in sent.text
        assert responses(ehr) == []
        again = send(
            browser, form, [("number-one-concern", TEEN_WORDS), ("share-with-family", "yes")]
        )
        assert 'data-previsit-status="saved"' in again.text
        agenda = launch(ehr).get()["agenda"]
        assert [item["text"] for item in agenda].count(TEEN_WORDS) == 1


def test_a_refused_write_keeps_the_answers_and_says_so_plainly(
    no_answers_yet: Deployment,
) -> None:
    browser, form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    no_answers_yet.fault(
        status=403, count=5, methods=["POST"], path_prefix="/fhir/QuestionnaireResponse"
    )
    sent = send(browser, form, [("number-one-concern", "Her weight gain this winter")])
    assert 'data-previsit-status="saved"' in sent.text
    assert "did not accept your answers" in sent.text
    assert "your care team will still see them" in sent.text
    assert responses(no_answers_yet) == []
    agenda = launch(no_answers_yet).get()["agenda"]
    assert "Her weight gain this winter" in [item["text"] for item in agenda]


def test_a_slow_ehr_is_told_as_saved_then_sent_once(no_answers_yet: Deployment) -> None:
    browser, form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    no_answers_yet.fault(
        status=503, count=2, methods=["POST"], path_prefix="/fhir/QuestionnaireResponse"
    )
    sent = send(browser, form, [("number-one-concern", "Her weight gain this winter")])
    assert 'data-previsit-status="saved"' in sent.text
    assert "it will reach your care team shortly" in sent.text
    wait_for(lambda: responses(no_answers_yet))
    page = wait_for(
        lambda: (p := browser.get(form.url)) and 'data-previsit-status="sent"' in p.text and p
    )
    assert "Sent to your care team" in page.text
    assert len(responses(no_answers_yet)) == 1


def test_the_worker_leaves_new_answers_to_the_request_that_sends_them(
    no_answers_yet: Deployment,
) -> None:
    # The page tells the first attempt's outcome ("saved" above): if the worker could take
    # the row between its commit and that attempt, it might retry past the 503s first, and
    # the page would not know what happened to the answers.
    owner = Owner(iss="https://ehr.example", patient="p1", author="RelatedPerson/x", visit_key="v")
    with no_answers_yet.flip.app_context():
        store, outbox = service(PrevisitStore), service(PrevisitOutbox)
        key = store.new_key()
        store.submit(
            owner,
            key,
            FormAnswers(number_one_concern="Her weight gain this winter"),
            {"resourceType": "QuestionnaireResponse"},
            launch_hash="no-launch",
            granted_scopes=frozenset(),
        )
        assert outbox.process_due() == 0
        found = store.find(owner)
    assert found is not None and found.state == "pending"


def test_the_patients_no_current_concern_heads_the_visit_above_the_parents_concern(
    no_answers_yet: Deployment,
) -> None:
    teen, teen_form = open_form(no_answers_yet, "Patient/p1")
    send(
        teen,
        teen_form,
        [("no-current-concern", "true"), ("share-with-family", "yes"), ("language", "es")],
    )
    parent, parent_form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    send(parent, parent_form, [("number-one-concern", "Her weight gain this winter")])
    page = launch(no_answers_yet).page.text
    said_nothing = page.index("no current concern or goal")
    assert page.index("Maya") < said_nothing < page.index("Her weight gain this winter")
    assert re.search(r"Maya: Español &middot; <strong>interpreter</strong>", page)


def test_the_private_words_travel_with_their_label_into_the_chart(
    no_answers_yet: Deployment,
) -> None:
    teen, teen_form = open_form(no_answers_yet, "Patient/p1")
    send(teen, teen_form, [("number-one-concern", TEEN_WORDS), ("share-with-family", "no")])
    parent, parent_form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    send(parent, parent_form, [("number-one-concern", "Her weight gain this winter")])
    visit = launch(no_answers_yet)
    close_agenda(visit)
    plan = {
        "items": [{"text": "Dietitian call about enzymes", "when": "later"}],
        "goals": [{"text": "Gain 2 kg by spring"}],
        "partnering_note": {"text": "Maya leads; mom supports."},
        "something_else_asked": True,
    }
    assert visit.send("POST", "/visit/plan", plan).status_code == 202
    assert wait_written(visit)["state"] == "written"

    def restricted(resource: dict[str, Any]) -> bool:
        return [s.get("code") for s in resource.get("meta", {}).get("security", [])] == ["R"]

    (careplan,) = flip_resources(no_answers_yet, "CarePlan")
    assert TEEN_WORDS in careplan["text"]["div"] and restricted(careplan)
    (goal,) = flip_resources(no_answers_yet, "Goal")
    assert not restricted(goal)  # the goal does not carry her words
    for note in flip_resources(no_answers_yet, "DocumentReference"):
        assert not restricted(note)  # nor does the partnering note


def test_an_expired_form_tells_the_person_to_start_again_from_their_portal(
    no_answers_yet: Deployment,
) -> None:
    browser, form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    with no_answers_yet.flip.app_context(), db.session() as session:
        session.execute(update(LaunchSession).values(expires_at=datetime.now(UTC)))
    expired = send(browser, form, [("number-one-concern", "Her weight gain this winter")])
    assert expired.status_code == 401
    assert "patient portal" in expired.text
    assert "chart" not in expired.text  # a parent is not told to open the chart
    assert responses(no_answers_yet) == []


def test_a_clinic_system_that_is_down_is_told_to_a_parent_in_her_language(
    no_answers_yet: Deployment,
) -> None:
    parent, form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    no_answers_yet.fault(status=503, count=None, path_prefix="/fhir")
    down = parent.get(f"{form.url}?lang=es")
    assert down.status_code == 503
    assert 'data-error="ehr_unavailable"' in down.text and '<html lang="es">' in down.text
    assert "El sistema de su clínica no responde en este momento" in down.text
    assert "vuelva a cargar esta página" in down.text
    assert "chart" not in down.text and "EHR" not in down.text
    # Sent while it is down: the same answer, in the form's language (English here).
    sent = send(parent, form, [("number-one-concern", "Her weight gain this winter")])
    assert sent.status_code == 503 and '<html lang="en">' in sent.text
    assert "Your clinic&#39;s system isn&#39;t answering right now" in sent.text


def test_a_clinic_system_that_refuses_the_read_sends_a_parent_back_to_her_portal(
    no_answers_yet: Deployment,
) -> None:
    parent, form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    no_answers_yet.fault(status=400, count=None, path_prefix="/fhir")
    refused = html.unescape(parent.get(form.url).text)
    assert 'data-error="ehr_error"' in refused
    assert "Your clinic's system could not open the questions" in refused
    assert "Go back to your patient portal" in refused and "chart" not in refused


def test_a_send_too_large_to_take_is_refused_in_the_parents_words(
    no_answers_yet: Deployment,
) -> None:
    parent, form = open_form(no_answers_yet, "RelatedPerson/rp-mom")
    parent.http.headers["Accept-Language"] = "es"  # the body, and its `lang`, go unread
    huge = send(parent, form, [("number-one-concern", "x" * 3_000_000)])
    assert huge.status_code == 413
    assert "Acorte lo que escribió y envíelo otra vez." in huge.text and "chart" not in huge.text
    assert responses(no_answers_yet) == []


def test_a_portal_sign_in_that_took_too_long_is_told_in_the_patients_words(
    no_answers_yet: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow, "PENDING_LIFETIME_S", -1)  # by the callback, every sign-in is old
    _, page = portal_launch(no_answers_yet, "RelatedPerson/rp-mom")
    assert page.status_code == 400
    assert 'data-error="launch_expired"' in page.text
    assert "Your sign-in took too long" in page.text and "patient portal" in page.text
    assert "chart" not in page.text
    # An EHR launch that took too long is still the clinician's to open again.
    clinician = Browser().launch(no_answers_yet.ehr_launch_url("p1", "e-agenda"))
    assert 'data-error="launch_expired"' in clinician.text and "chart" in clinician.text


def test_a_failure_of_flips_own_is_told_in_the_patients_words(
    no_answers_yet: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, form = open_form(no_answers_yet, "Patient/p1")

    def broken(*_: object) -> None:
        raise RuntimeError("a bug")  # as a bug of Flip's would

    monkeypatch.setattr(PrevisitService, "page", broken)
    page = browser.get(form.url.split("?")[0] + "?lang=es")
    assert page.status_code == 500
    assert 'data-error="internal"' in page.text and '<html lang="es">' in page.text
    assert "Algo salió mal en Flip" in page.text and "portal del paciente" in page.text
    assert "Traceback" not in page.text and "a bug" not in page.text


def test_a_portal_launch_page_speaks_the_patients_language(no_answers_yet: Deployment) -> None:
    # Before the sign-in, the page that opens Flip (and says what to do without JavaScript
    # or cookies) is in the browser's language for a portal; an EHR launch stays the clinic's.
    spanish = {"Accept-Language": "es-MX,es;q=0.9"}
    portal = requests.get(
        f"{no_answers_yet.flip_url}/launch",
        params={"iss": no_answers_yet.sandbox.fhir_base},
        headers=spanish,
        timeout=10,
    )
    assert portal.status_code == 200
    assert '<html lang="es">' in portal.text
    assert "Abriendo Flip" in portal.text
    assert "JavaScript está desactivado en este navegador" in portal.text
    ehr = requests.get(no_answers_yet.ehr_launch_url("p1", "e-agenda"), headers=spanish, timeout=10)
    assert ehr.status_code == 200
    assert '<html lang="en">' in ehr.text and "Opening Flip" in ehr.text
    assert "Flip needs JavaScript." in ehr.text  # the visit's agenda does need it
