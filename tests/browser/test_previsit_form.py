"""The pre-visit form in chromium on a phone (390x844), through the sandbox portal: a teen
answers in Spanish and keeps it private, her mom answers in English and never sees it, the
chart gets each once, and the clinician's visit shows the teen first. axe-core reports no
violation on any state of the form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Frame, Page, expect

from tests.browser.test_whole_visit import flip_frame
from tests.e2e.conftest import family_chart, teen_with_a_visit_tomorrow
from tests.e2e.deployment import Deployment
from tests.e2e.test_previsit import TEEN_WORDS, responses

PHONE = {"width": 390, "height": 844}
MOM_WORDS = "Her weight gain this winter"


@pytest.fixture
def ehr(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Maya (15) and her mom, no answers yet, a visit booked for tomorrow."""
    with family_chart(database_url, tmp_path, answered=False) as deployment:
        teen_with_a_visit_tomorrow(deployment)
        yield deployment


def phone(browser: Browser, width: int = PHONE["width"]) -> Page:
    context = browser.new_context(viewport={"width": width, "height": PHONE["height"]})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page: Page, ehr: Deployment, user: str) -> None:
    """Open the portal's one-time sign-in link (`flip sandbox portal-url`) and land on Flip."""
    answer = requests.post(
        f"{ehr.sandbox.url}/_sandbox/portal-sign-ins",
        json={"user": user, "app_launch_url": f"{ehr.flip_url}/launch", "pre_approved": True},
        timeout=10,
    )
    page.goto(answer.json()["url"])
    expect(page.locator("form[data-previsit]")).to_be_visible()
    # The callback answered with the form itself; its script then shows the form's own
    # address, the one a reload asks for (never the used callback's).
    page.wait_for_url(f"{ehr.flip_url}/l/*/previsit")


def back(page: Page, frame: Frame) -> None:
    """The browser's Back button, whose step is in the chart's frame (Playwright's go_back
    waits for a load of the top page that never comes): until the frame shows another
    document."""
    frame.evaluate("window.flipBeforeBack = true")
    page.evaluate("history.back()")
    frame.wait_for_function("!window.flipBeforeBack")
    frame.wait_for_load_state()


def no_violations(page: Page, state: str) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, f"{state}:\n{results.generate_report()}"


def no_violations_in(frame: Frame, state: str) -> None:
    """axe-core on the page inside the chart's frame."""
    results = Axe().run(frame)
    assert results.violations_count == 0, f"{state}:\n{results.generate_report()}"


def fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the form scrolls sideways by {overflow}px"


@pytest.mark.browser
def test_a_teen_and_her_mom_answer_on_their_phones(browser: Browser, ehr: Deployment) -> None:
    teen = phone(browser)
    sign_in(teen, ehr, "Patient/p1")
    fits(teen)
    no_violations(teen, "the blank form")
    teen.locator('a[hreflang="es"]').click()
    expect(teen.locator("h1")).to_have_text("Antes de su cita")
    assert teen.locator("html").get_attribute("lang") == "es"
    no_violations(teen, "the blank form in Spanish")

    # Nothing chosen: the form says what is missing, and sends nothing.
    teen.locator('[data-action="submit-previsit"]').click()
    expect(teen.locator(".problems")).to_contain_text("Escriba su preocupación")
    no_violations(teen, "the form with what is missing")
    assert responses(ehr) == []

    # Typed, then reloaded before sending: nothing is lost.
    teen.locator('[data-link-id="number-one-concern"]').fill(TEEN_WORDS)
    expect(teen.locator("#h-number-one-concern")).to_contain_text("Quedan")
    teen.reload()
    expect(teen.locator('[data-link-id="number-one-concern"]')).to_have_value(TEEN_WORDS)

    teen.locator("#q-share-with-family-no").check()
    teen.locator('[data-link-id="language"]').select_option("es")
    teen.locator('[data-action="submit-previsit"]').click()
    expect(teen.locator("[data-previsit-status]")).to_have_attribute("data-previsit-status", "sent")
    no_violations(teen, "the form after sending")

    # Changed after sending, and reloaded: the page says the change is not sent yet.
    unsent = teen.locator("[data-previsit-unsent]")
    expect(unsent).to_be_hidden()
    concern = teen.locator('[data-link-id="number-one-concern"]')
    concern.fill(f"{TEEN_WORDS}, and my exams")
    expect(unsent).to_be_visible()
    teen.reload()
    expect(concern).to_have_value(f"{TEEN_WORDS}, and my exams")
    expect(unsent).to_contain_text("Sus cambios aún no se han enviado.")
    expect(unsent).to_be_visible()
    no_violations(teen, "the form with a change not sent")
    concern.fill(TEEN_WORDS)  # back to what was sent
    expect(unsent).to_be_hidden()

    mom = phone(browser)
    sign_in(mom, ehr, "RelatedPerson/rp-mom")
    assert TEEN_WORDS not in mom.content()
    expect(mom.locator('[data-link-id="share-with-family"]')).to_have_count(0)
    expect(mom.locator("body")).to_contain_text("related to Maya's health?")  # not her own
    mom.locator('[data-link-id="number-one-concern"]').fill(MOM_WORDS)
    mom.locator('[data-action="submit-previsit"]').click()
    expect(mom.locator("[data-previsit-status]")).to_have_attribute("data-previsit-status", "sent")
    assert TEEN_WORDS not in mom.content()

    by_author = {r["author"]["reference"]: r for r in responses(ehr)}
    assert set(by_author) == {"Patient/p1", "RelatedPerson/rp-mom"}
    assert [s["code"] for s in by_author["Patient/p1"]["meta"]["security"]] == ["R"]
    assert "security" not in by_author["RelatedPerson/rp-mom"]["meta"]

    # The clinician's visit, in the chart's sidebar: the teen first, marked, then her mom.
    clinician = phone(browser)
    frame = flip_frame(clinician, ehr, "e-agenda")
    items = frame.locator("[data-agenda-item]")
    expect(items.first).to_contain_text(TEEN_WORDS)
    expect(items.first).to_contain_text("care team only")
    expect(items.nth(1)).to_contain_text(MOM_WORDS)


@pytest.mark.browser
def test_a_parent_whose_clinic_system_is_down_hears_saved_then_sent(
    browser: Browser, ehr: Deployment
) -> None:
    mom = phone(browser)
    sign_in(mom, ehr, "RelatedPerson/rp-mom")
    ehr.fault(status=503, count=2, methods=["POST"], path_prefix="/fhir/QuestionnaireResponse")
    mom.locator('[data-link-id="number-one-concern"]').fill(MOM_WORDS)
    mom.locator('[data-action="submit-previsit"]').click()
    status = mom.locator("[data-previsit-status]")
    expect(status).to_have_attribute("data-previsit-status", "saved")
    expect(status).to_contain_text("Saved; it will reach your care team shortly.")
    fits(mom)
    no_violations(mom, "the form saved while the clinic's system is down")
    # The worker sends it after its backoff; "Check again" then says so.
    deadline = time.monotonic() + 10
    while not responses(ehr) and time.monotonic() < deadline:
        time.sleep(0.2)
    mom.get_by_role("link", name="Check again").click()
    expect(status).to_have_attribute("data-previsit-status", "sent")
    expect(status).to_contain_text("Sent to your care team.")
    expect(mom.locator('[data-link-id="number-one-concern"]')).to_have_value(MOM_WORDS)
    assert len(responses(ehr)) == 1


@pytest.mark.browser
def test_the_form_is_usable_at_320_px(browser: Browser, ehr: Deployment) -> None:
    small = phone(browser, width=320)
    sign_in(small, ehr, "RelatedPerson/rp-mom")
    fits(small)
    small.locator('[data-link-id="number-one-concern"]').fill("x" * 501)
    expect(small.locator("#h-number-one-concern")).to_have_text("1 character too many")
    small.locator('[data-action="submit-previsit"]').click()
    problems = small.locator(".problems")
    expect(problems).to_contain_text("500 characters or fewer (it has 501)")
    expect(problems).to_be_focused()  # where the keyboard and screen reader start
    fits(small)
    no_violations(small, "an over-long answer at 320 px")


@pytest.mark.browser
def test_the_check_in_tablet_takes_the_teen_then_her_mom(browser: Browser, ehr: Deployment) -> None:
    tablet = phone(browser, width=820)
    frame = flip_frame(tablet, ehr, "e-agenda")
    frame.locator('[data-action="hand-to-patient"]').click()
    expect(frame.locator("[data-tablet-turns]")).to_contain_text("First, please hand the tablet")
    assert "data-agenda" not in frame.content()
    frame.locator('[data-action="take-turn"]').click()
    # Her mom pressed Maya's name: "Not you?" gives the tablet back to the choice, and
    # what she began typing stays with nobody.
    frame.locator('[data-link-id="number-one-concern"]').fill(MOM_WORDS)
    frame.locator('[data-action="not-me"]').click()
    expect(frame.locator("[data-tablet-turns]")).to_contain_text("First, please hand the tablet")
    frame.locator('[data-action="take-turn"]').click()
    expect(frame.locator("#h-number-one-concern")).to_contain_text("characters left")
    expect(frame.locator('[data-link-id="number-one-concern"]')).to_have_value("")
    no_violations_in(frame, "a turn on the tablet")
    frame.locator('[data-link-id="number-one-concern"]').fill(TEEN_WORDS)
    frame.locator("#q-share-with-family-no").check()
    frame.locator('[data-action="submit-previsit"]').click()
    # The send makes the first attempt itself (the worker waits for it), and the EHR is up.
    expect(frame.locator("[data-previsit-status]")).to_have_attribute(
        "data-previsit-status", "sent"
    )
    no_violations_in(frame, "the tablet between turns")
    assert TEEN_WORDS not in frame.content()
    frame.locator('[data-who="RelatedPerson/rp-mom"]').click()
    # Once the form's script ran (its counter counts), nothing of Maya's was put back.
    expect(frame.locator("#h-number-one-concern")).to_contain_text("characters left")
    expect(frame.locator('[data-link-id="number-one-concern"]')).to_have_value("")
    expect(frame.locator("body")).to_contain_text("related to Maya's health?")
    frame.locator('[data-link-id="number-one-concern"]').fill(MOM_WORDS)
    frame.locator('[data-action="submit-previsit"]').click()
    frame.locator('[data-action="hand-back"]').click()
    expect(frame.locator("h1")).to_have_text("Thank you, please hand the tablet back")
    frame.goto(frame.url.replace("/previsit/hand-back", "/visit"))
    expect(frame.locator("[data-error]")).to_have_attribute("data-error", "handed_back")
    deadline = time.monotonic() + 10
    while len(responses(ehr)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the outbox worker may still be sending the last one
    assert {r["author"]["reference"] for r in responses(ehr)} == {
        "Patient/p1",
        "RelatedPerson/rp-mom",
    }


@pytest.mark.browser
def test_back_on_the_tablet_speaks_the_familys_language_and_leads_back_to_the_questions(
    browser: Browser, ehr: Deployment
) -> None:
    tablet = phone(browser, width=820)
    frame = flip_frame(tablet, ehr, "e-agenda")
    frame.locator('[data-action="hand-to-patient"]').click()
    frame.locator('a[hreflang="es"]').click()
    frame.locator('[data-action="take-turn"]').click()
    # The turn's own form (the choice page was in Spanish already): Back must not start
    # while the turn is still loading.
    expect(frame.locator('[data-link-id="number-one-concern"]')).to_be_visible()
    expect(frame.locator("html")).to_have_attribute("lang", "es")
    error = frame.locator("[data-error]")
    for _ in range(4):  # Back, Back, ... until the clinician's visit page, refused
        back(tablet, frame)
        if error.count():
            break
    expect(error).to_have_attribute("data-error", "handed_to_patient")
    expect(frame.locator("h1")).to_have_text("Esta tableta es para sus respuestas")
    frame.get_by_role("link", name="Volver a las preguntas").click()
    frame.locator('[data-link-id="number-one-concern"]').fill(TEEN_WORDS)
    frame.locator("#q-share-with-family-no").check()
    frame.locator('[data-action="submit-previsit"]').click()
    frame.locator('[data-action="hand-back"]').click()
    expect(frame.locator("h1")).to_have_text("Gracias, por favor devuelva la tableta")
    back(tablet, frame)  # to the turns, now refused
    expect(error).to_have_attribute("data-error", "handed_back")
    expect(frame.locator("h1")).to_have_text("Gracias, por favor devuelva la tableta")
    assert TEEN_WORDS not in frame.content()
    # The next family on this tablet: a new launch starts from the browser's language.
    again = flip_frame(tablet, ehr, "e-agenda")
    again.locator('[data-action="hand-to-patient"]').click()
    expect(again.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.browser
def test_on_a_tablet_window_that_keeps_typing_the_next_person_starts_blank(
    browser: Browser, ehr: Deployment
) -> None:
    # Flip in a window of its own (not the chart's frame): this tab keeps what is typed
    # in sessionStorage, so a reload loses nothing; it must never reach the next person.
    tablet = phone(browser, width=820)
    tablet.goto(ehr.ehr_launch_url("p1", "e-agenda"))
    tablet.locator('[data-action="hand-to-patient"]').click()
    tablet.locator('[data-action="take-turn"]').click()
    concern = tablet.locator('[data-link-id="number-one-concern"]')
    concern.fill(TEEN_WORDS)
    tablet.locator("#q-share-with-family-no").check()
    tablet.reload()
    expect(concern).to_have_value(TEEN_WORDS)  # kept in the tab for her
    tablet.locator('[data-action="submit-previsit"]').click()
    expect(tablet.locator("[data-tablet-turns]")).to_be_visible()
    for who in ("RelatedPerson/rp-mom", "other", "Patient/p1"):
        tablet.locator(f'[data-who="{who}"]').click()
        # Once the form's script ran (its counter counts), nothing of Maya's is back.
        expect(tablet.locator("#h-number-one-concern")).to_contain_text("characters left")
        expect(concern).to_have_value("")
        assert TEEN_WORDS not in tablet.content()
        concern.fill(f"{who} is worried too")
        if who == "other":  # someone the chart does not name says who they are
            tablet.get_by_label("Your name, and who you are to Maya").fill("Rose, grandmother")
            no_violations(tablet, "someone else's turn on the tablet")
        if who == "Patient/p1":
            tablet.locator("#q-share-with-family-no").check()
        tablet.locator('[data-action="submit-previsit"]').click()
        expect(tablet.locator("[data-tablet-turns]")).to_be_visible()
    assert len(responses(ehr)) == 3  # Maya's once, her mom's, and someone else's
    names = [i for r in responses(ehr) for i in r["item"] if i["linkId"] == "respondent-name"]
    assert [i["answer"] for i in names] == [[{"valueString": "Rose, grandmother"}]]


@pytest.mark.browser
def test_back_after_a_change_never_sends_the_older_answers_again(
    browser: Browser, ehr: Deployment
) -> None:
    mom = phone(browser)
    sign_in(mom, ehr, "RelatedPerson/rp-mom")
    concern = mom.locator('[data-link-id="number-one-concern"]')
    for words in ("Her weight", MOM_WORDS):
        concern.fill(words)
        mom.locator('[data-action="submit-previsit"]').click()
        expect(mom.locator("[data-previsit-status]")).to_have_attribute(
            "data-previsit-status", "sent"
        )
    # Back to the page the first send answered with, then to the form as first opened,
    # where "Her weight" was typed: each shows the answers sent last, never the older words
    # the browser kept for that page.
    for _ in range(2):
        mom.go_back()
        expect(mom.locator("[data-previsit-status]")).to_have_attribute(
            "data-previsit-status", "sent"
        )
        expect(concern).to_have_value(MOM_WORDS)
    mom.reload()
    expect(concern).to_have_value(MOM_WORDS)
    mom.locator('[data-action="submit-previsit"]').click()
    expect(mom.locator("[data-previsit-status]")).to_have_attribute("data-previsit-status", "sent")
    (response,) = responses(ehr)
    assert MOM_WORDS in str(response["item"])


@pytest.mark.browser
def test_without_javascript_a_parent_answers_once_and_back_finds_the_form(
    browser: Browser, ehr: Deployment
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    mom = context.new_page()
    mom.set_default_timeout(10_000)
    answer = requests.post(
        f"{ehr.sandbox.url}/_sandbox/portal-sign-ins",
        json={"user": "RelatedPerson/rp-mom", "app_launch_url": f"{ehr.flip_url}/launch",
              "pre_approved": True},
        timeout=10,
    )  # fmt: skip
    mom.goto(answer.json()["url"])
    # The page says the questions work without JavaScript (Playwright's text locators skip
    # <noscript>, so its words are read from the page).
    assert "the questions for your visit work without it" in mom.content()
    mom.get_by_role("link", name="Continue").click()
    concern = mom.locator('[data-link-id="number-one-concern"]')
    concern.fill(MOM_WORDS)
    mom.locator('[data-action="submit-previsit"]').click()
    expect(mom.locator("[data-previsit-status]")).to_have_attribute("data-previsit-status", "sent")
    (sent,) = responses(ehr)
    mom.reload()  # asks for the form: the answers are not sent again
    expect(concern).to_have_value(MOM_WORDS)
    mom.go_back()  # the form as first opened, not the used sign-in
    expect(concern).to_have_value(MOM_WORDS)
    mom.go_forward()
    expect(mom.locator("[data-previsit-status]")).to_have_attribute("data-previsit-status", "sent")
    (response,) = responses(ehr)
    assert response["meta"]["versionId"] == sent["meta"]["versionId"]
