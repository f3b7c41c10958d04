"""A whole visit in chromium: flip, close, plan, partnering note, saved to the chart; and
the next visit starts from the last plan."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Frame, Page, expect

from fhir_mappings.codes import identifier_system
from tests.browser.conftest import flip_page_frame
from tests.browser.test_agenda_in_frame import line, saving, shown
from tests.e2e.conftest import family_chart
from tests.e2e.deployment import ACT_CODE, Deployment


@pytest.fixture
def ehr(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Maya's family chart, with Flip on SQLite and on PostgreSQL."""
    with family_chart(database_url, tmp_path) as deployment:
        yield deployment


def flip_frame(page: Page, ehr: Deployment, encounter: str) -> Frame:
    page.goto(f"{ehr.sandbox.url}/chart/p1?encounter={encounter}&practitioner=dr1")
    expect(page.frame_locator("iframe[title='Flip']").locator("[data-number-one]")).to_be_visible()
    return flip_page_frame(page, ehr.flip_url)


def chart(ehr: Deployment, resource_type: str) -> list[dict[str, object]]:
    """Flip's resources of one type in the sandbox chart (by Flip's identifier system)."""
    answer = requests.get(
        f"{ehr.sandbox.open_fhir_base}/{resource_type}",
        params={"identifier": f"{identifier_system()}|"},
        timeout=10,
    )
    return [e["resource"] for e in answer.json().get("entry", [])]


@pytest.mark.browser
def test_a_whole_visit_reaches_the_chart_and_feeds_the_next_visit(
    page: Page, ehr: Deployment
) -> None:
    frame = flip_frame(page, ehr, "e-agenda")
    # Reorder: the family's item first (the teen agreed mom should go first today).
    with saving(frame):
        line(frame, "weight gain").locator("[data-move='up']").click()
    with saving(frame):
        line(frame, "weight gain").locator("[data-move='up']").click()
    assert shown(frame)[0][2] == "Her weight gain this winter"

    # Finishing with open items is refused, and the open ones are listed.
    frame.locator("#something-else-asked").check()
    frame.locator(".plan-text").first.fill("Dietitian call about enzymes")
    frame.locator("#finish-plan").click()
    expect(frame.locator("#open-items")).to_contain_text("Lacrosse travel without my vest")
    expect(frame.locator("#open-items")).to_be_focused()  # where a keyboard user reads on

    with saving(frame):
        line(frame, "weight gain").locator("[data-status-select]").select_option("addressed")
    with saving(frame):
        line(frame, "Lacrosse").locator("[data-status-select]").select_option("addressed")
    sleepovers = line(frame, "Sleepovers")
    sleepovers.locator("[data-status-select]").select_option("deferred")
    sleepovers.locator("[data-reason]").fill("Next visit")
    with saving(frame):
        sleepovers.locator("[data-reason]").press("Enter")
    # "Something else?" brought up a school letter.
    frame.locator("#add-item-text").fill("Letter for school")
    with saving(frame):
        frame.locator("#add-item button[type=submit]").click()

    row = frame.locator("[data-plan-item]").first
    row.locator(".plan-owner").fill("Dana (mom)")
    frame.locator("#add-plan-item").click()
    later = frame.locator("[data-plan-item]").nth(1)
    later.locator(".plan-text").fill("Check airway clearance routine for away games")
    later.locator(".plan-owner").fill("Maya")
    later.locator(".plan-when").select_option("later")
    frame.locator(".goal-text").first.fill("Play the whole lacrosse season")
    frame.locator('#partnering-style input[value="talk-options"]').check()
    frame.locator("input[name=learning][value=written]").check()
    # Found by its label, worded for any age: who leads and who joins, not "the teen".
    frame.get_by_label("In their words: who leads, who joins, what helps").fill(
        "Maya leads; mom joins for medication changes."
    )
    frame.locator("details.reflection summary").click()
    frame.locator("#reflection-flexible").fill("Mostly; I interrupted once.")
    frame.locator("#save-reflection").click()
    expect(frame.locator("#plan-status")).to_have_text("Reflection kept (private).")
    frame.locator("#finish-plan").click()
    expect(frame.locator("#writeback")).to_have_attribute("data-state", "written", timeout=20_000)
    # In words, at the clinic's time; the resource ids sit behind "What was sent".
    message = frame.locator("[data-writeback-message]")
    expect(message).to_contain_text("Saved to the chart at ")
    expect(message).to_contain_text("the partnering note")
    expect(message).not_to_contain_text("CarePlan")
    frame.get_by_text("What was sent").click()
    expect(frame.locator("[data-writeback-resource][data-status=written]").first).to_be_visible()

    careplans = chart(ehr, "CarePlan")
    assert len(careplans) == 1
    activities = [a["detail"]["description"] for a in careplans[0]["activity"]]  # type: ignore[index]
    assert "Check airway clearance routine for away games" in activities
    notes = [n for n in chart(ehr, "DocumentReference")]
    note_text = base64.b64decode(notes[0]["content"][0]["attachment"]["data"]).decode()  # type: ignore[index]
    assert "Maya leads; mom joins for medication changes." in note_text
    assert "interrupted" not in note_text  # the reflection stays private
    assert len(chart(ehr, "Goal")) == 1

    # The next visit: a new encounter, and the last plan's open item comes back.
    ehr.seed(
        "Encounter",
        "e-next",
        status="in-progress",
        subject={"reference": "Patient/p1"},
        period={"start": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()},
        **{"class": {"system": ACT_CODE, "code": "AMB"}},
    )
    frame = flip_frame(page, ehr, "e-next")
    from_plan = frame.locator(
        "[data-agenda-item][data-source=clinician]", has=frame.locator("[data-origin]")
    )
    expect(from_plan.filter(has_text="Check airway clearance routine")).to_contain_text(
        "from the last plan"
    )
    partnering = frame.locator("[data-partnering-preference]")
    expect(partnering).to_contain_text("Maya leads")
    expect(partnering).to_contain_text("I like to talk through the options")
    # One line in words: never the note's header, its "Recorded" line or UTC times.
    expect(partnering).not_to_contain_text("Partnering note:")
    expect(partnering).not_to_contain_text("Recorded with Flip")


@pytest.mark.browser
def test_a_double_click_sends_once_and_a_later_edit_is_said_unsent_until_sent(
    page: Page, ehr: Deployment
) -> None:
    frame = flip_frame(page, ehr, "e-agenda")
    for words in ("weight gain", "Lacrosse", "Sleepovers"):
        with saving(frame):
            line(frame, words).locator("[data-status-select]").select_option("addressed")
    frame.locator("#something-else-asked").check()
    frame.locator(".plan-text").first.fill("Dietitian call about enzymes")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/visit/plan") else None)
    frame.locator("#finish-plan").dblclick()
    expect(frame.locator("#writeback")).to_have_attribute("data-state", "written", timeout=20_000)
    assert len(sent) == 1
    expect(frame.locator("#finish-plan")).to_be_enabled()  # an edit can be finished again
    expect(frame.locator("#finish-plan")).to_be_focused()  # the keyboard keeps its place
    # An edit after it was saved is not in the chart yet, and the page says so at once.
    unsent = frame.locator("[data-plan-unsent]")
    expect(unsent).to_be_hidden()
    edit = "Dietitian call about enzymes and snacks"
    # Kept once its own PUT answered (an earlier PUT of the first typing may land later).
    with frame.page.expect_response(
        lambda r: r.url.endswith("/visit/plan/form") and edit in (r.request.post_data or "")
    ):
        frame.locator(".plan-text").first.fill(edit)
    expect(unsent).to_be_visible()
    expect(unsent).to_contain_text("You changed the plan after it was saved.")
    frame.page.reload()  # still said after a reload
    frame = flip_page_frame(frame.page, ehr.flip_url)
    expect(frame.locator("[data-plan-unsent]")).to_be_visible()
    frame.locator("#finish-plan").click()
    expect(frame.locator("[data-plan-unsent]")).to_be_hidden()
    expect(frame.locator("#writeback")).to_have_attribute("data-state", "written", timeout=20_000)
    activities = [a["detail"]["description"] for a in chart(ehr, "CarePlan")[0]["activity"]]  # type: ignore[index]
    assert edit in activities
    # Finished, edited and finished again in one page: nobody else is said to have changed it.
    frame = flip_page_frame(frame.page, ehr.flip_url)
    again = "Dietitian call about enzymes, snacks and salt"
    with frame.page.expect_response(
        lambda r: r.url.endswith("/visit/plan/form") and again in (r.request.post_data or "")
    ):
        frame.locator(".plan-text").first.fill(again)
    frame.locator("#finish-plan").click()
    expect(frame.locator("#plan-status")).to_contain_text("Updated in the chart", timeout=20_000)
    expect(frame.locator("[data-plan-elsewhere]")).to_be_hidden()
    activities = [a["detail"]["description"] for a in chart(ehr, "CarePlan")[0]["activity"]]  # type: ignore[index]
    assert again in activities


@pytest.mark.browser
def test_two_of_the_care_team_typing_into_one_plan_both_keep_their_words(
    page: Page, ehr: Deployment
) -> None:
    nurse = flip_frame(page, ehr, "e-agenda")
    doctor = flip_frame(page.context.new_page(), ehr, "e-agenda")
    follow_up, goal = "Clinic in 3 months", "Play the whole season"
    with nurse.page.expect_response(lambda r: r.url.endswith("/visit/plan/form")):
        nurse.locator("#follow-up").fill(follow_up)
    with doctor.page.expect_response(lambda r: r.url.endswith("/visit/plan/form")):
        doctor.locator(".goal-text").first.fill(goal)
    # The doctor's page does not show the nurse's follow-up, and says so.
    elsewhere = doctor.locator("[data-plan-elsewhere]")
    expect(elsewhere).to_be_visible()
    expect(elsewhere).to_contain_text("Someone else changed this plan in another window.")
    # Finishing from it would send its empty follow-up over the nurse's: it waits.
    for words in ("weight gain", "Lacrosse", "Sleepovers"):
        with saving(doctor):
            line(doctor, words).locator("[data-status-select]").select_option("addressed")
    finishes: list[str] = []
    doctor.page.on(
        "request", lambda r: finishes.append(r.url) if r.url.endswith("/visit/plan") else None
    )
    doctor.locator("#finish-plan").click()
    expect(doctor.locator("#plan-status")).to_contain_text(
        "reload the page to see what it now says"
    )
    assert finishes == []
    # Both words are kept: either page, reloaded, shows them.
    for frame in (nurse, doctor):
        frame.page.reload()
        again = flip_page_frame(frame.page, ehr.flip_url)
        expect(again.locator("#follow-up")).to_have_value(follow_up)
        expect(again.locator(".goal-text").first).to_have_value(goal)
        expect(again.locator("[data-plan-elsewhere]")).to_be_hidden()


@pytest.mark.browser
def test_words_typed_over_a_colleagues_in_the_same_field_say_theirs(
    page: Page, ehr: Deployment
) -> None:
    nurse = flip_frame(page, ehr, "e-agenda")
    doctor = flip_frame(page.context.new_page(), ehr, "e-agenda")  # opened before her change
    for words in ("Clinic in 3", "Clinic in 3 months"):  # her own words over her own
        with nurse.page.expect_response(lambda r: r.url.endswith("/visit/plan/form")):
            nurse.locator("#follow-up").fill(words)
    expect(nurse.locator("[data-plan-replaced]")).to_be_hidden()
    with doctor.page.expect_response(lambda r: r.url.endswith("/visit/plan/form")):
        doctor.locator("#follow-up").fill("Clinic in 6 weeks")
    replaced = doctor.locator("[data-plan-replaced]")
    expect(replaced).to_contain_text("Someone else had changed this since you opened it.")
    expect(replaced).to_contain_text("which were: \u201cClinic in 3 months\u201d")
