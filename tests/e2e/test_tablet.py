"""At check-in, the clinician's screen handed to the patient: only the form, one person's
turn at a time (the teen first), never the visit again, then handed back; over real HTTP."""

from __future__ import annotations

from typing import Any

import requests

from tests.e2e.conftest import Visit, launch
from tests.e2e.deployment import Browser, CookieBrowser, Deployment
from tests.e2e.test_previsit import TEEN_WORDS, open_form, responses, send
from tests.e2e.test_roles import CLINICIAN_WORDS

MOM_WORDS = "Her weight gain this winter"


def post(visit: Visit, path: str, fields: list[tuple[str, str]]) -> requests.Response:
    """A form post from the page, as the browser sends it (flip-tab.js adds the tab)."""
    base = visit.page.url.rsplit("/", 1)[0]
    return visit.browser.http.post(
        f"{base}/{path}",
        data=[*fields, ("flip_tab", visit.browser.tab_binding(visit.page.url))],
        allow_redirects=False,
        timeout=30,
    )


def page(visit: Visit, path: str) -> requests.Response:
    return visit.browser.get(f"{visit.page.url.rsplit('/', 1)[0]}/{path}")


def hand_over(ehr: Deployment, browser: Browser | None = None) -> Visit:
    if browser is None:
        visit = launch(ehr)
    else:
        body = {"patient": "p1", "encounter": "e-agenda", "practitioner": "dr1"}
        made = requests.post(f"{ehr.sandbox.url}/_sandbox/launches", json=body, timeout=10)
        visit = Visit(ehr, browser, browser.launch(made.json()["launch_url"]))
    assert 'data-action="hand-to-patient"' in visit.page.text
    handed = post(visit, "hand-to-patient", [])
    assert handed.status_code == 303
    assert handed.headers["Location"].endswith("/previsit")
    return visit


def teen_answered_on_the_tablet(ehr: Deployment, browser: Browser | None = None) -> Visit:
    """Handed over, and Maya has sent her answer for the care team only."""
    visit = hand_over(ehr, browser)
    post(visit, "previsit/turn", [("who", "Patient/p1")])
    fields = [("number-one-concern", TEEN_WORDS), ("share-with-family", "no")]
    assert 'data-previsit-status="sent"' in post(visit, "previsit/answers", fields).text
    return visit


def test_the_tablet_takes_the_teen_then_her_mom_and_never_shows_the_visit(
    no_answers_yet: Deployment,
) -> None:
    visit = hand_over(no_answers_yet)
    first = page(visit, "previsit")
    assert "First, please hand the tablet to Maya" in first.text
    assert "data-agenda" not in first.text
    for words in CLINICIAN_WORDS:
        assert words not in first.text
    # Back to the visit, by the back button or the URL: refused, in the patient's words.
    back = page(visit, "visit")
    assert back.status_code == 403
    assert 'data-error="handed_to_patient"' in back.text
    assert "hand the tablet back" in back.text
    api = visit.send("GET", "/visit", None)
    assert api.status_code == 403 and api.json()["error"] == "handed_to_patient"

    assert post(visit, "previsit/turn", [("who", "Patient/p1")]).status_code == 303
    teen_form = page(visit, "previsit")
    assert 'data-link-id="share-with-family"' in teen_form.text
    sent = post(
        visit,
        "previsit/answers",
        [("number-one-concern", TEEN_WORDS), ("share-with-family", "no")],
    )
    assert 'data-previsit-status="sent"' in sent.text
    assert TEEN_WORDS not in sent.text  # the next person is handed a clean screen
    assert 'data-who="RelatedPerson/rp-mom"' in sent.text
    assert "First, please hand" not in sent.text

    post(visit, "previsit/turn", [("who", "RelatedPerson/rp-mom")])
    mom_form = page(visit, "previsit")
    assert TEEN_WORDS not in mom_form.text
    assert 'data-link-id="share-with-family"' not in mom_form.text
    post(visit, "previsit/answers", [("number-one-concern", MOM_WORDS)])

    done = post(visit, "previsit/hand-back", [])
    assert "Thank you, please hand the tablet back" in done.text
    for path in ("previsit", "visit"):
        after = page(visit, path)
        assert after.status_code == 403
        assert 'data-error="handed_back"' in after.text

    by_author = {r["author"]["reference"]: r for r in responses(no_answers_yet)}
    assert set(by_author) == {"Patient/p1", "RelatedPerson/rp-mom"}
    assert by_author["Patient/p1"]["source"] == {"reference": "Patient/p1"}
    assert [s["code"] for s in by_author["Patient/p1"]["meta"]["security"]] == ["R"]
    agenda = launch(no_answers_yet).get()["agenda"]  # the visit again: a new launch
    assert [i["text"] for i in agenda[:2]] == [TEEN_WORDS, MOM_WORDS]
    assert agenda[0]["care_team_only"] is True


def test_someone_the_chart_does_not_name_answers_with_the_staff_user_as_author(
    no_answers_yet: Deployment,
) -> None:
    visit = hand_over(no_answers_yet)
    post(visit, "previsit/turn", [("who", "other")])
    form = page(visit, "previsit")
    assert 'data-link-id="share-with-family"' not in form.text
    assert "Your name, and who you are to Maya (for example: Rose, grandmother)" in form.text
    spanish = page(visit, "previsit?lang=es").text
    assert "Su nombre y su relación con Maya (por ejemplo: Rosa, abuela)" in spanish
    concern = ("number-one-concern", "Her cough at night")
    refused = post(visit, "previsit/answers", [concern, ("respondent-name", "R" * 101)])
    assert refused.status_code == 422
    assert "Please shorten it to 100 characters or fewer (it has 101)" in refused.text
    assert responses(no_answers_yet) == []
    post(visit, "previsit/answers", [concern, ("respondent-name", " Rose, grandmother ")])
    (response,) = responses(no_answers_yet)
    assert response["author"] == {"reference": "Practitioner/dr1"}
    assert response["source"] == {"reference": "Patient/p1"}
    answers = {i["linkId"]: i["answer"] for i in response["item"]}
    assert answers["respondent"][0]["valueCoding"]["code"] == "other"
    assert answers["respondent-name"] == [{"valueString": "Rose, grandmother"}]
    agenda = launch(no_answers_yet).get()["agenda"]
    said = {i["text"]: i["said_by"] for i in agenda}
    assert said["Her cough at night"] == "Rose, grandmother (entered by staff)"


def test_a_name_pressed_on_the_tablet_never_shows_the_answers_sent_under_it(
    no_answers_yet: Deployment,
) -> None:
    visit = teen_answered_on_the_tablet(no_answers_yet)
    # Her mom (or anyone) presses Maya's name: an empty form, saying answers were sent.
    post(visit, "previsit/turn", [("who", "Patient/p1")])
    again = page(visit, "previsit")
    assert TEEN_WORDS not in again.text
    assert "data-previsit-sent-before" in again.text
    assert "They are not shown on this shared tablet" in again.text
    post(visit, "previsit/turn", [("who", "RelatedPerson/rp-mom")])
    assert "data-previsit-sent-before" not in page(visit, "previsit").text


def test_two_people_the_chart_does_not_name_each_keep_their_own_answers(
    no_answers_yet: Deployment,
) -> None:
    visit = hand_over(no_answers_yet)
    words = ("Grandma: her cough at night", "Her coach: can she play on Saturday?")
    for said in words:
        post(visit, "previsit/turn", [("who", "other")])
        form = page(visit, "previsit")
        assert words[0] not in form.text and "data-previsit-sent-before" not in form.text
        post(visit, "previsit/answers", [("number-one-concern", said)])
    assert sorted(_concern(r) for r in responses(no_answers_yet)) == sorted(words)
    agenda = [i["text"] for i in launch(no_answers_yet).get()["agenda"]]
    assert set(words) <= set(agenda)


def _concern(response: dict[str, Any]) -> str:
    item = next(i for i in response["item"] if i["linkId"] == "number-one-concern")
    return str(item["answer"][0]["valueString"])


def test_a_turn_for_someone_not_offered_is_refused(no_answers_yet: Deployment) -> None:
    visit = hand_over(no_answers_yet)
    refused = post(visit, "previsit/turn", [("who", "Patient/p2")])
    assert refused.status_code == 400
    assert "Choose who is answering" in refused.text


def test_a_portal_user_cannot_hand_anything_back(no_answers_yet: Deployment) -> None:
    browser, form = open_form(no_answers_yet, "Patient/p1")
    refused = browser.http.post(
        f"{form.url}/hand-back",
        data={"flip_tab": browser.tab_binding(form.url)},
        allow_redirects=False,
        timeout=30,
    )
    assert refused.status_code == 400
    assert send(browser, form, [("number-one-concern", "x"), ("share-with-family", "yes")]).ok


def test_a_teen_who_will_answer_later_lets_the_family_go_first(
    no_answers_yet: Deployment,
) -> None:
    visit = hand_over(no_answers_yet)
    first = page(visit, "previsit")
    assert "First, please hand the tablet to Maya" in first.text
    assert 'data-action="teen-later"' in first.text
    assert 'data-who="RelatedPerson/rp-mom"' not in first.text

    assert post(visit, "previsit/turn", [("who", "later")]).status_code == 303
    choosing = page(visit, "previsit")
    assert "First, please hand" not in choosing.text
    assert 'data-who="RelatedPerson/rp-mom"' in choosing.text
    assert 'data-who="Patient/p1"' in choosing.text  # Maya can still take her turn

    post(visit, "previsit/turn", [("who", "RelatedPerson/rp-mom")])
    sent = post(visit, "previsit/answers", [("number-one-concern", MOM_WORDS)])
    assert 'data-previsit-status="sent"' in sent.text
    # Maya has not answered yet: the tablet asks for her again, and can be deferred again.
    assert "First, please hand the tablet to Maya" in sent.text
    assert 'data-action="teen-later"' in sent.text


def test_reopening_flip_on_the_handed_over_tablet_shows_the_form_not_the_visit(
    no_answers_yet: Deployment,
) -> None:
    # The tablet's browser keeps Flip's partitioned cookie (Chromium does): it knows it.
    visit = teen_answered_on_the_tablet(no_answers_yet, CookieBrowser())
    body = {"patient": "p1", "encounter": "e-agenda", "practitioner": "dr1"}
    post(visit, "previsit/turn", [("who", "RelatedPerson/rp-mom")])
    # Mom reloads the EHR's page on the tablet: the EHR launches Flip again, in this browser.
    again = requests.post(f"{no_answers_yet.sandbox.url}/_sandbox/launches", json=body, timeout=10)
    reopened = visit.browser.launch(again.json()["launch_url"])
    assert reopened.status_code == 200
    assert "data-tablet-turns" in reopened.text and "/previsit" in reopened.url
    assert TEEN_WORDS not in reopened.text and "data-agenda" not in reopened.text
    assert 'data-who="RelatedPerson/rp-mom"' in reopened.text
    # The clinician's own workstation still opens the visit, with Maya's words.
    assert TEEN_WORDS in launch(no_answers_yet).page.text
    # Handed back from the reopened page, the tablet's next launch is the visit again.
    done = visit.browser.http.post(
        f"{reopened.url.split('?')[0]}/hand-back",
        data={"flip_tab": visit.browser.tab_binding(reopened.url)},
        timeout=30,
    )
    assert "Thank you" in done.text
    assert "hand the tablet back" in page(visit, "previsit").text  # the first one ended too
    again = requests.post(f"{no_answers_yet.sandbox.url}/_sandbox/launches", json=body, timeout=10)
    assert "data-agenda" in visit.browser.launch(again.json()["launch_url"]).text
