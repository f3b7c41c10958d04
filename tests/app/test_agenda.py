"""The flip: who comes first, what merges, and what the clinician's draft changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.visit_model import ClinicianItem, PreVisitAnswers, Respondent, VisitInputs
from smart_app.visit.agenda import AddedItem, Draft, build_agenda, explain_match

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def answers(
    response_id: str,
    respondent: Respondent,
    number_one: str | None,
    *others: str,
    by: str = "Maya",
    share: bool = True,
) -> PreVisitAnswers:
    return PreVisitAnswers(
        response_id=response_id,
        author="Patient/p1" if respondent is Respondent.PATIENT else f"RelatedPerson/{by}",
        author_display=by,
        respondent=respondent,
        authored=NOW - timedelta(days=2),
        number_one_concern=number_one,
        no_current_concern=number_one is None,
        other_concerns=others,
        partnering_style=None,
        learning_preferences=(),
        language=None,
        share_with_family=share,
    )


def clinician(key: str, text: str) -> ClinicianItem:
    return ClinicianItem(
        key=key, text=text, origin="encounter-reason", reference="Encounter/e1", codes=frozenset()
    )


TEEN = answers("qr-teen", Respondent.PATIENT, "Lacrosse travel without my vest", "Sleepovers")
MOM = answers("qr-mom", Respondent.PARENT, "Her weight gain this winter", by="mom")
INPUTS = VisitInputs(
    answers=(MOM, TEEN),  # newest first: mom answered after the teen
    preference=None,
    clinician_items=(
        clinician("Encounter/e1#reason-0", "Weight gain and enzyme dosing"),
        clinician("CarePlan/c1#activity-0", "Review FEV1 trend"),
    ),
    skipped=0,
)


def test_patient_items_come_first_then_family_then_clinician() -> None:
    agenda = build_agenda(INPUTS)
    assert [(i.source, i.text) for i in agenda] == [
        ("patient", "Lacrosse travel without my vest"),
        ("patient", "Sleepovers"),
        ("family", "Her weight gain this winter"),
        ("clinician", "Review FEV1 trend"),
    ]
    assert agenda[0].number_one and agenda[0].said_by == "Maya"
    assert not agenda[2].number_one  # only the patient's own concern is "number one"


def test_a_matching_clinician_item_is_shown_once_at_the_family_items_place() -> None:
    family_item = build_agenda(INPUTS)[2]
    assert family_item.sources == ("family", "clinician")
    assert [m.text for m in family_item.merged] == ["Weight gain and enzyme dosing"]
    assert family_item.match_reason == "both mention: gain, weight"


def test_each_merged_item_says_why_it_is_on_that_line() -> None:
    added = AddedItem(id="add-1", text="Winter weight plan", source="clinician", added_at=NOW)
    family_item = build_agenda(INPUTS, Draft(added=(added,)))[2]
    assert [(m.text, m.match_reason) for m in family_item.merged] == [
        ("Weight gain and enzyme dosing", "both mention: gain, weight"),
        ("Winter weight plan", "both mention: weight, winter"),
    ]


def test_the_clinician_can_split_a_merge_and_merge_by_hand() -> None:
    weight = "cl-Encounter-e1-reason-0"
    fev1 = "cl-CarePlan-c1-activity-0"
    split = build_agenda(INPUTS, Draft(splits=frozenset({weight})))
    assert [i.id for i in split if i.source == "clinician"] == [weight, fev1]
    merged = build_agenda(INPUTS, Draft(merges={fev1: "pv-qr-teen-number-one"}))
    assert merged[0].sources == ("patient", "clinician")
    assert merged[0].match_reason == "merged by the clinician"
    assert fev1 not in [i.id for i in merged]


def test_draft_order_statuses_and_added_items_are_applied() -> None:
    added = AddedItem(id="add-1", text="Letter for school", source="clinician", added_at=NOW)
    order = ("cl-CarePlan-c1-activity-0", "pv-qr-teen-number-one", "add-1")
    draft = Draft(
        order=order,
        statuses={"pv-qr-teen-number-one": ("deferred", "Next visit, with the RT")},
        added=(added,),
    )
    agenda = build_agenda(INPUTS, draft)
    ids = [i.id for i in agenda]
    assert ids[:2] == ["cl-CarePlan-c1-activity-0", "pv-qr-teen-number-one"]
    assert "add-1" in ids
    teen = agenda[1]
    assert (teen.status, teen.reason) == ("deferred", "Next visit, with the RT")


def test_items_new_since_the_draft_keep_their_flipped_place() -> None:
    draft = Draft(order=("pv-qr-teen-number-one", "cl-CarePlan-c1-activity-0"))
    dad = answers("qr-dad", Respondent.PARENT, "Cost of the new modulator", by="dad")
    later = VisitInputs(
        answers=(dad, *INPUTS.answers), preference=None, clinician_items=INPUTS.clinician_items,
        skipped=0,
    )  # fmt: skip
    ids = [i.id for i in build_agenda(later, draft)]
    assert ids.index("pv-qr-dad-number-one") < ids.index("cl-CarePlan-c1-activity-0")


def test_no_current_concern_adds_no_item_and_care_team_only_is_marked() -> None:
    quiet = answers("qr-q", Respondent.PATIENT, None, share=False)
    private = answers("qr-p", Respondent.PATIENT, "Vaping at parties", share=False)
    assert build_agenda(VisitInputs((quiet,), None, (), 0)) == []
    assert build_agenda(VisitInputs((private,), None, (), 0))[0].care_team_only


def test_one_shared_word_is_not_a_match() -> None:
    assert explain_match("Travel for lacrosse", "Travel vaccines") is None
    assert explain_match("Her weights are going up", "Weight going up?") is None  # stopword
    assert explain_match("Belly pain after meals", "Abdominal pain after meals") == (
        "both mention: after, meal, pain"
    )


@given(
    st.lists(st.text(max_size=30), max_size=5),
    st.lists(st.text(max_size=30), max_size=5),
    st.permutations(list(range(6))),
)
def test_every_item_appears_exactly_once_whatever_the_order(
    family_texts: list[str], clinician_texts: list[str], permutation: list[int]
) -> None:
    family = answers("qr-f", Respondent.PARENT, "x", *family_texts, by="mom")
    inputs = VisitInputs(
        answers=(family, TEEN),
        preference=None,
        clinician_items=tuple(clinician(f"k{i}", t) for i, t in enumerate(clinician_texts)),
        skipped=0,
    )
    default = build_agenda(inputs)
    shuffled = [default[i].id for i in permutation if i < len(default)]
    reordered = build_agenda(inputs, Draft(order=tuple(shuffled)))
    ids = [i.id for i in reordered]
    assert sorted(ids) == sorted(i.id for i in default)
    assert ids[: len(shuffled)] == shuffled
    shown = ids + [m.id for i in reordered for m in i.merged]
    assert len(shown) == len(set(shown)) == len(default) + sum(len(i.merged) for i in default)


def test_new_answers_mid_visit_keep_the_clinicians_status_and_say_when_the_words_changed() -> None:
    draft = Draft(
        order=("pv-qr-teen-other-0", "pv-qr-teen-number-one", "pv-qr-mom-number-one"),
        statuses={
            "pv-qr-teen-number-one": ("deferred", "after the labs"),
            "pv-qr-teen-other-0": ("addressed", None),
        },
        changed_by={"pv-qr-teen-number-one": "Practitioner/dr1"},
    )
    # Maya sends again: new words for her number one, the same other concern.
    again = replace(
        answers(
            "qr-teen-2", Respondent.PATIENT, "Lacrosse travel and the tournament", "Sleepovers"
        ),
        earlier=(TEEN,),
    )
    agenda = build_agenda(replace(INPUTS, answers=(again, MOM)), draft)
    by_text = {item.text: item for item in agenda}
    concern = by_text["Lacrosse travel and the tournament"]
    assert (concern.status, concern.reason) == ("deferred", "after the labs")
    assert concern.changed_by == "Practitioner/dr1"
    assert concern.status_set_on == "Lacrosse travel without my vest"
    sleepovers = by_text["Sleepovers"]
    assert sleepovers.status == "addressed" and sleepovers.status_set_on is None
    assert [i.text for i in agenda[:2]] == ["Sleepovers", "Lacrosse travel and the tournament"]
    # Once the clinician sets the new line's status, the note about earlier words goes.
    set_again = replace(
        draft, statuses={**draft.statuses, "pv-qr-teen-2-number-one": ("addressed", None)}
    )
    agenda = build_agenda(replace(INPUTS, answers=(again, MOM)), set_again)
    concern = next(i for i in agenda if i.id == "pv-qr-teen-2-number-one")
    assert concern.status == "addressed" and concern.status_set_on is None
