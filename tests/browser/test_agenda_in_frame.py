"""The flipped agenda in the chart's sidebar, in chromium: order, merge, edits that last."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Locator, Page, expect

from tests.browser.conftest import flip_page_frame
from tests.e2e.conftest import family_chart
from tests.e2e.deployment import Deployment


@pytest.fixture
def ehr(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Maya's family chart, with Flip on SQLite and on PostgreSQL."""
    with family_chart(database_url, tmp_path) as deployment:
        yield deployment


def open_flip(page: Page, ehr: Deployment) -> Frame:
    """Open Maya's chart as Dr Osler; return Flip's frame once the agenda is there."""
    page.goto(f"{ehr.sandbox.url}/chart/p1?encounter=e-agenda&practitioner=dr1")
    expect(page.frame_locator("iframe[title='Flip']").locator("[data-agenda-item]")).to_have_count(
        4
    )
    return flip_page_frame(page, ehr.flip_url)


def shown(frame: Frame) -> list[tuple[str, str, str]]:
    """(source, status, text) of each agenda line, in display order."""
    rows: list[tuple[str, str, str]] = frame.locator("[data-agenda-item]").evaluate_all(
        """items => items.map(li => [li.dataset.source, li.dataset.status,
                                      li.querySelector('[data-text]').textContent.trim()])"""
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def line(frame: Frame, text: str) -> Locator:
    """The agenda line whose own text contains `text`."""
    return frame.locator("[data-agenda-item]").filter(
        has=frame.locator("[data-text]", has_text=text)
    )


@contextmanager
def saving(frame: Frame) -> Iterator[None]:
    """Wait until the change made in the block is saved through Flip's API."""
    with frame.page.expect_response(
        lambda r: "/api/visit/agenda" in r.url and r.request.method != "GET"
    ) as answer:
        yield
    assert answer.value.ok
    expect(frame.locator("#save-status")).to_have_text("Saved")


@pytest.mark.browser
def test_the_agenda_is_flipped_and_edits_survive_reload_and_relaunch(
    page: Page, ehr: Deployment
) -> None:
    frame = open_flip(page, ehr)
    assert shown(frame) == [
        ("patient", "open", "Lacrosse travel without my vest"),
        ("patient", "open", "Sleepovers"),
        ("family", "open", "Her weight gain this winter"),
        ("clinician", "open", "Review FEV1 trend"),
    ]
    expect(frame.locator("[data-number-one]")).to_have_text("Lacrosse travel without my vest")
    family = frame.locator("[data-agenda-item][data-source='family']")
    expect(family.locator("[data-merged-id]")).to_contain_text("Weight gain and enzyme dosing")

    # Keyboard: move the clinician's item up one, with the focused arrow button.
    clinician = frame.locator("[data-agenda-item][data-source='clinician']")
    clinician.locator("[data-move='up']").focus()
    with saving(frame):
        frame.page.keyboard.press("Enter")
    # Drag: Sleepovers to the top (the arrow key scrolled the frame: bring the list back).
    frame.locator("#agenda-label").scroll_into_view_if_needed()
    with saving(frame):
        line(frame, "Sleepovers").drag_to(
            frame.locator("[data-agenda-item]").first,
            source_position={"x": 30, "y": 10},  # on the item's words, not its controls
            target_position={"x": 30, "y": 3},
        )
    with saving(frame):
        line(frame, "Lacrosse").locator("[data-status-select]").select_option("addressed")
    mom = line(frame, "weight gain")
    mom.locator("[data-status-select]").select_option("deferred")
    mom.locator("[data-reason]").fill("Dietitian next week")
    with saving(frame):
        mom.locator("[data-reason]").press("Enter")
    frame.locator("#add-item-text").fill("School letter <for> the nurse")
    with saving(frame):
        frame.locator("#add-item button[type=submit]").click()

    expected = [
        ("patient", "open", "Sleepovers"),
        ("patient", "addressed", "Lacrosse travel without my vest"),
        ("clinician", "open", "Review FEV1 trend"),
        ("family", "deferred", "Her weight gain this winter"),
        ("clinician", "open", "School letter <for> the nurse"),
    ]
    assert shown(frame) == expected
    frame.evaluate("() => location.reload()")  # reload Flip in its frame
    expect(page.frame_locator("iframe[title='Flip']").locator("[data-agenda-item]")).to_have_count(
        5
    )
    frame = flip_page_frame(page, ehr.flip_url)
    assert shown(frame) == expected
    page.reload()  # a new EHR launch of the same encounter by the same clinician
    expect(page.frame_locator("iframe[title='Flip']").locator("[data-agenda-item]")).to_have_count(
        5
    )
    frame = flip_page_frame(page, ehr.flip_url)
    assert shown(frame) == expected
    reason = line(frame, "weight gain").locator("[data-reason]")
    expect(reason).to_have_value("Dietitian next week")


@pytest.mark.browser
def test_a_reload_in_the_middle_of_typing_the_plan_keeps_every_field(
    page: Page, ehr: Deployment
) -> None:
    frame = open_flip(page, ehr)
    typed = {
        ".plan-text": "Dietitian call about enzymes",
        ".goal-text": "Play the whole season",
        "#follow-up": "Clinic in 3 months",
        "#partnering-text": "Maya leads; mom fills in dates.",
        "#reflection-questions": "Mostly; I asked Maya first.",
    }
    frame.locator("#something-else-asked").check()
    frame.locator("details.reflection summary").click()  # the private reflection, opened
    for selector, words in typed.items():
        with frame.page.expect_response(
            lambda r: r.request.method == "PUT" and "/api/visit/" in r.url
        ) as kept:
            frame.locator(selector).first.fill(words)
        assert kept.value.ok
    page.reload()
    frame = open_flip(page, ehr)
    frame.locator("details.reflection summary").click()
    for selector, words in typed.items():
        expect(frame.locator(selector).first).to_have_value(words)
    expect(frame.locator("#something-else-asked")).to_be_checked()


@pytest.mark.browser
def test_words_typed_just_before_leaving_for_another_chart_are_kept(
    page: Page, ehr: Deployment
) -> None:
    frame = open_flip(page, ehr)
    frame.locator("details.reflection summary").click()  # the private reflection, opened
    frame.locator("[data-reflection]").first.fill("I asked Maya first.")
    frame.locator("#follow-up").fill("Clinic in 3 months")
    # At once, before the page's pause in typing sends them: the clinician opens Ben.
    page.goto(f"{ehr.sandbox.url}/chart/p2?encounter=e-p2&practitioner=dr1")
    expect(page.frame_locator("iframe[title='Flip']").locator("[data-number-one]")).to_be_visible()
    frame = open_flip(page, ehr)
    frame.locator("details.reflection summary").click()
    expect(frame.locator("#follow-up")).to_have_value("Clinic in 3 months")
    expect(frame.locator("[data-reflection]").first).to_have_value("I asked Maya first.")
    frame.locator("#follow-up").fill("Clinic in 6 weeks")
    page.reload()  # at once, too
    expect(open_flip(page, ehr).locator("#follow-up")).to_have_value("Clinic in 6 weeks")


@pytest.mark.browser
def test_merging_is_an_explicit_action_and_focus_stays_on_the_line(
    page: Page, ehr: Deployment
) -> None:
    frame = open_flip(page, ehr)
    fev1 = line(frame, "Review FEV1")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/agenda/merge" in r.url else None)
    choose = fev1.locator("[data-merge]")
    choose.focus()
    page.keyboard.press("ArrowDown")  # choosing in the list merges nothing (WCAG 3.2.2)
    page.keyboard.press("ArrowDown")
    expect(frame.locator("[data-agenda-item]")).to_have_count(4)
    assert requests == []

    choose.select_option(label="Lacrosse travel without my vest")
    fev1.locator("[data-merge-go]").click()
    teen = line(frame, "Lacrosse")
    expect(teen.locator("[data-merged-id]")).to_contain_text("Review FEV1 trend")
    expect(teen).to_be_focused()
    expect(frame.locator("#save-status")).to_have_text("Merged: shown with this item. Item 1 of 3.")

    teen.get_by_role("button", name="Split").click()
    back = line(frame, "Review FEV1")
    expect(back).to_be_focused()
    expect(frame.locator("#save-status")).to_have_text("Split: on its own line again. Item 4 of 4.")


@pytest.mark.browser
def test_an_added_item_on_a_familys_topic_is_shown_with_it_and_the_page_says_so(
    page: Page, ehr: Deployment
) -> None:
    frame = open_flip(page, ehr)
    frame.locator("#add-item-text").fill("Weight gain plan for the winter")
    frame.locator("#add-item button[type=submit]").click()
    mom = line(frame, "Her weight gain this winter")
    joined = mom.locator("[data-merged-id]").filter(has_text="Weight gain plan for the winter")
    expect(joined).to_contain_text("(both mention: gain, weight, winter)")
    expect(mom).to_be_focused()
    expect(frame.locator("#save-status")).to_have_text(
        "Added: the same topic as this item, so shown with it. Split puts it on its own line."
        " Item 3 of 4."
    )
    expect(frame.locator("#add-item-text")).to_have_value("")
    joined.get_by_role("button", name="Split Weight gain plan for the winter").click()
    expect(line(frame, "Weight gain plan")).to_be_focused()
    expect(frame.locator("[data-agenda-item]")).to_have_count(5)


@pytest.mark.browser
def test_add_to_plan_takes_the_items_words_and_copy_gives_the_visit_note(
    page: Page, ehr: Deployment
) -> None:
    frame = open_flip(page, ehr)
    lacrosse, sleepovers = line(frame, "Lacrosse"), line(frame, "Sleepovers")
    expect(lacrosse.locator("[data-add-to-plan]")).to_be_hidden()  # open items: not yet
    with saving(frame):
        lacrosse.locator("[data-status-select]").select_option("addressed")
    lacrosse.locator("[data-add-to-plan]").click()
    sleepovers.locator("[data-status-select]").select_option("deferred")
    expect(frame.locator("#save-status")).to_have_text(
        "Not saved yet: say why it is deferred, then press Enter."
    )
    sleepovers.locator("[data-reason]").fill("Next visit")
    with saving(frame):
        sleepovers.locator("[data-reason]").press("Enter")
    with frame.page.expect_response(lambda r: "/api/visit/plan/form" in r.url) as kept:
        sleepovers.locator("[data-add-to-plan]").click()
    assert kept.value.ok
    sleepovers.locator("[data-add-to-plan]").click()  # pressed again: still one line
    expect(frame.locator("#plan-status")).to_have_text("Already in the plan: Sleepovers")
    rows = frame.locator("#plan-items [data-plan-item]")
    expect(rows).to_have_count(2)  # the empty first row was filled, not left above
    expect(rows.nth(0).locator(".plan-text")).to_have_value("Lacrosse travel without my vest")
    expect(rows.nth(0).locator(".plan-when")).to_have_value("now")
    expect(rows.nth(1).locator(".plan-text")).to_have_value("Sleepovers")
    expect(rows.nth(1).locator(".plan-when")).to_have_value("later")

    frame.locator("#partnering-text").fill("Maya leads.")
    style = frame.locator('#partnering-style input[value="team-recommends"]')
    style.check()
    # Each style's words are whole in the sidebar (a select cut the longest one off).
    label = style.locator("xpath=..")
    assert label.evaluate("e => e.scrollWidth <= e.clientWidth && e.clientWidth <= 400")
    frame.get_by_role("button", name="Copy for the visit note").click()
    note = frame.locator("#visit-note-text")
    expect(note).to_be_visible()
    expect(note).to_have_value(
        "Agreed plan (Flip)\n- Lacrosse travel without my vest; now\n- Sleepovers; later\n"
        "Partnering: I like to hear my care team's recommendation, then agree. Maya leads."
    )
