"""Reading pre-visit answers: who answered, in their own words, latest per respondent."""

from __future__ import annotations

import logging

import pytest

from fhir_mappings.fields import VALIDATED_ENTRIES
from fhir_mappings.visit_model import Respondent
from tests.mappings.builders import (
    PATIENT_ID,
    VISIT_START,
    patient,
    read,
    related_person,
    response,
)

MOM = "RelatedPerson/mom"
DAD = "RelatedPerson/dad"
TEEN = f"Patient/{PATIENT_ID}"
FAMILY = [related_person("mom", "MTH", "Dana"), related_person("dad", "FTH", "Luis")]


def test_teen_mom_and_dad_each_answer_newest_first_in_their_own_words() -> None:
    responses = [
        response("qr-teen", TEEN, 2, concern="Can I go to lacrosse camp without my vest?"),
        response("qr-mom", MOM, 3, concern="worried about her weight gain  "),
        response("qr-dad", DAD, 1, no_concern=True, respondent="parent"),
    ]
    inputs = read(questionnaire_responses=responses, related_persons=FAMILY)
    assert [a.response_id for a in inputs.answers] == ["qr-dad", "qr-teen", "qr-mom"]
    by_id = {a.response_id: a for a in inputs.answers}
    assert by_id["qr-teen"].author_display == "Maya"
    assert by_id["qr-teen"].respondent is Respondent.PATIENT
    assert not by_id["qr-teen"].is_family
    assert by_id["qr-mom"].author_display == "mom"
    assert by_id["qr-mom"].respondent is Respondent.PARENT
    # Never trimmed or paraphrased: exactly what mom typed.
    assert by_id["qr-mom"].number_one_concern == "worried about her weight gain  "
    assert by_id["qr-dad"].author_display == "dad"
    assert inputs.skipped == 0


def test_no_current_concern_is_recorded_as_an_answer() -> None:
    inputs = read(questionnaire_responses=[response("qr-1", TEEN, 1, no_concern=True)])
    (answers,) = inputs.answers
    assert answers.number_one_concern is None
    assert answers.no_current_concern is True


def test_a_written_concern_wins_over_a_ticked_no_concern_box() -> None:
    inputs = read(
        questionnaire_responses=[response("qr-1", TEEN, 1, concern="My wedding", no_concern=True)]
    )
    assert inputs.answers[0].number_one_concern == "My wedding"
    assert inputs.answers[0].no_current_concern is False


def test_only_the_latest_answer_per_respondent_counts_and_amended_is_read() -> None:
    responses = [
        response("old", TEEN, 5, concern="Insurance at 26"),
        response("new", TEEN, 1, status="amended", concern="Insurance at 26, and refills"),
    ]
    inputs = read(questionnaire_responses=responses)
    assert [a.number_one_concern for a in inputs.answers] == ["Insurance at 26, and refills"]
    assert inputs.skipped == 0  # a superseded answer is not malformed
    # The earlier answer travels with it, so the agenda can move the clinician's status.
    assert [e.response_id for e in inputs.answers[0].earlier] == ["old"]


def test_each_person_staff_entered_at_check_in_counts_but_a_parent_counts_once() -> None:
    def entered(response_id: str, days: float, words: str) -> dict[str, object]:
        staff = response(response_id, "Practitioner/dr", days, concern=words, respondent="other")
        return {**staff, "source": {"reference": TEEN}}

    responses = [
        entered("grandma", 0.2, "Her cough at night"),
        entered("coach", 0.1, "Can she play on Saturday?"),
        response("mom-old", MOM, 2, concern="Her weight"),
        response("mom-new", MOM, 1, concern="Her weight, and sleep"),
    ]
    inputs = read(questionnaire_responses=responses, related_persons=FAMILY)
    assert [a.number_one_concern for a in inputs.answers] == [
        "Can she play on Saturday?",
        "Her cough at night",
        "Her weight, and sleep",
    ]


def test_a_parent_on_the_patients_own_account_is_never_named_as_the_patient() -> None:
    # A portal's own questionnaire may ask who is answering on the patient's account.
    for respondent, said_by in (("parent", "a parent"), ("other", "someone else")):
        answer = response("x", TEEN, 1, concern="Her sleep", respondent=respondent)
        (read_back,) = read(questionnaire_responses=[answer]).answers
        assert (read_back.author_display, read_back.is_family) == (
            f"{said_by}, on Maya's account",
            True,
        )


def test_someone_staff_entered_is_named_in_the_words_they_gave_for_who_they_are() -> None:
    named = response("rose", "Practitioner/dr", 0.2, concern="Her cough", respondent="other")
    named["item"].append({"linkId": "respondent-name", "answer": [{"valueString": "Rose, gran"}]})
    unnamed = response("coach", "Practitioner/dr", 0.1, concern="Saturday?", respondent="other")
    responses = [{**r, "source": {"reference": TEEN}} for r in (named, unnamed)]
    inputs = read(questionnaire_responses=responses)
    assert {a.number_one_concern: a.author_display for a in inputs.answers} == {
        "Her cough": "Rose, gran (entered by staff)",
        # Answered before Flip asked (Questionnaire 1.0.0), or the name was left blank.
        "Saturday?": "someone with them (entered by staff)",
    }


@pytest.mark.parametrize(
    ("label", "resource"),
    [
        ("outside the window", response("x", TEEN, 15, concern="old news")),
        # Answers given at check-in, after the visit began, count (the tablet); not later.
        ("after the visit day", response("x", TEEN, -0.6, concern="too late")),
        ("wrong patient", response("x", TEEN, 1, subject="Patient/other", concern="private words")),
        ("in progress", response("x", TEEN, 1, status="in-progress", concern="draft")),
        ("another questionnaire", response("x", TEEN, 1, questionnaire="http://x.org/Q/phq9")),
        ("no status", {**response("x", TEEN, 1), "status": None}),
        ("a practitioner wrote it", response("x", "Practitioner/dr", 1, concern="private words")),
        (
            "another family's parent",
            response("x", "RelatedPerson/neighbour", 1, concern="private words"),
        ),
    ],
)
def test_responses_that_do_not_belong_to_this_visit_are_skipped(
    label: str, resource: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    other_family = related_person("neighbour", "MTH", "Zoe", patient_id="someone-else")
    with caplog.at_level(logging.INFO):
        inputs = read(
            questionnaire_responses=[resource],
            related_persons=[*FAMILY, other_family],
        )
    assert inputs.answers == (), label
    assert inputs.skipped == 2  # the response and the other family's RelatedPerson
    # The log names the resource type and a reason, never the person's words or ids.
    messages = [record.getMessage() for record in caplog.records]
    assert messages and all(m.startswith("skipped a") for m in messages)
    for secret in ("private words", "neighbour", PATIENT_ID, "Zoe", "Rivera"):
        assert not any(secret in m for m in messages)


def test_the_window_edge_counts_and_dates_are_read_in_the_clinic_zone() -> None:
    # 14 days before a visit the day after the clock change: still inside, in clinic days.
    edge = response("edge", TEEN, 14, concern="Right at the edge")
    date_only = {**response("day", MOM, 0), "authored": "2025-11-01"}
    inputs = read(questionnaire_responses=[edge, date_only], related_persons=FAMILY)
    assert [a.response_id for a in inputs.answers] == ["day", "edge"]
    day = inputs.answers[0].authored
    assert day is not None and day.isoformat() == "2025-11-01T00:00:00-04:00"


def test_a_site_questionnaire_is_read_through_its_link_id_map() -> None:
    site = "https://portal.example.net/Questionnaire/cf-previsit"
    items = [
        {"linkId": "q1", "answer": [{"valueString": "Home spirometer numbers are dropping"}]},
        {"linkId": "grp", "item": [{"linkId": "q9", "answer": [{"valueBoolean": False}]}]},
    ]
    resource = response("site-1", TEEN, 2, questionnaire=f"{site}|7", items=items)
    unmapped = read(questionnaire_responses=[resource])
    assert unmapped.answers == () and unmapped.skipped == 1
    inputs = read(
        questionnaire_responses=[resource],
        questionnaire_urls=[site],
        linkid_map={"q1": "number-one-concern", "q9": "share-with-family"},
    )
    (answers,) = inputs.answers
    assert answers.number_one_concern == "Home spirometer numbers are dropping"
    assert answers.share_with_family is False


def test_all_answers_are_read_with_defaults_when_left_blank() -> None:
    full = response(
        "full",
        TEEN,
        1,
        concern="I Google everything",
        others=("Surgery?", "  ", "Cost of care"),
        style="research-and-bring-ideas",
        learning=("read-myself", "read-myself", "written"),
        language="es",
        share=False,
    )
    (answers,) = read(questionnaire_responses=[full]).answers
    assert answers.other_concerns == ("Surgery?", "Cost of care")
    assert answers.partnering_style == "research-and-bring-ideas"
    assert answers.learning_preferences == ("read-myself", "written")
    assert answers.language == "es"
    assert answers.share_with_family is False
    (blank,) = read(questionnaire_responses=[response("b", TEEN, 1)]).answers
    assert blank.share_with_family is True and blank.number_one_concern is None
    assert blank.no_current_concern is False


def test_author_display_uses_family_words_then_names() -> None:
    family = [
        related_person("g", "GUARD", "Kim"),
        related_person("p", "PRN", "Wei"),
        related_person("aunt", "AUNT", "Rosa"),
    ]
    responses = [
        response("r-g", "RelatedPerson/g", 1),
        response("r-p", "RelatedPerson/p", 2),
        response("r-aunt", "RelatedPerson/aunt", 3),
    ]
    inputs = read(questionnaire_responses=responses, related_persons=family)
    shown = {a.response_id: (a.author_display, a.respondent) for a in inputs.answers}
    assert shown == {
        "r-g": ("guardian", Respondent.PARENT),
        "r-p": ("parent", Respondent.PARENT),
        "r-aunt": ("Rosa", Respondent.OTHER),
    }


def test_without_the_patient_resource_the_patient_is_named_generically() -> None:
    inputs = read(questionnaire_responses=[response("r", TEEN, 1)], patient=None)
    assert inputs.answers[0].author_display == "the patient"
    other = read(questionnaire_responses=[response("r", TEEN, 1)], patient=patient("Zed", "x"))
    assert other.answers[0].author_display == "the patient"


def test_a_naive_visit_start_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read(visit_start=VISIT_START.replace(tzinfo=None))


def test_a_long_answer_is_read_whole_and_checked_as_r4_up_to_its_first_entries() -> None:
    """5,000 concerns are all read (the page counts them), but only the first
    `VALIDATED_ENTRIES` of a list are checked as R4: a malformed one past them no longer
    costs the family their number one concern, and one among them still does."""
    others = tuple(f"Worry {n}" for n in range(5_000))
    late = response("qr-late", MOM, 1, concern="Her breathing at night", others=others)
    late["item"][1]["answer"][VALIDATED_ENTRIES + 10] = {"valueString": ""}  # not valid R4
    early = response("qr-early", DAD, 1, concern="Sleep", others=others)
    early["item"][1]["answer"][VALIDATED_ENTRIES - 1] = {"valueString": ""}
    inputs = read(questionnaire_responses=[late, early], related_persons=FAMILY)
    (answers,) = inputs.answers
    assert answers.number_one_concern == "Her breathing at night"
    assert len(answers.other_concerns) == 4_999  # every concern but the empty one
    assert inputs.skipped == 1  # the dad's answer, malformed among the entries checked


def test_questions_nested_under_groups_and_answers_are_read() -> None:
    """Sites nest questions: under a group item, and under an answer (an enableWhen-style
    follow-up); both are read as if they stood at the top."""
    nested = [
        {
            "linkId": "about-you",
            "item": [{"linkId": "number-one-concern", "answer": [{"valueString": "Sleep"}]}],
        },
        {
            "linkId": "anything-else",
            "answer": [
                {
                    "valueBoolean": True,
                    "item": [{"linkId": "other-concerns", "answer": [{"valueString": "Camp"}]}],
                }
            ],
        },
    ]
    inputs = read(questionnaire_responses=[response("qr-1", TEEN, 1, items=nested)])
    (answers,) = inputs.answers
    assert answers.number_one_concern == "Sleep"
    assert answers.other_concerns == ("Camp",)
