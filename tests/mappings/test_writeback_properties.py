"""Property-based: any text a clinician or family types yields valid resources, read back whole."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree

from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fhir_mappings.narrative import clean, has_words
from fhir_mappings.plan_model import (
    AgendaOutcome,
    AgreedPlan,
    PartneringNote,
    PlanGoal,
    PlanItem,
)
from fhir_mappings.writeback import WriteOptions, plan_writes, provenance_for
from tests.mappings.builders import PATIENT_ID, VISIT_START

# Printable text of any script, markup included; no control characters or lone surrogates,
# which no keyboard produces.
CHARS = st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("<>&\"'\n\t")
MARKUP = st.sampled_from(["<script>", "</div>", "&amp;", "]]>", "<!--", "<b>x</b>"])
WORDS = st.text(alphabet=CHARS, max_size=1000) | st.lists(
    MARKUP | st.text(alphabet=CHARS, max_size=20), max_size=40
).map("".join)
MAYBE = st.none() | WORDS
ITEMS = st.builds(
    PlanItem,
    text=WORDS,
    owner=MAYBE,
    when=st.sampled_from(["now", "later"]),
    due=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
)
OUTCOMES = st.builds(
    AgendaOutcome,
    text=WORDS,
    source=st.sampled_from(["patient", "family", "clinician"]),
    status=st.sampled_from(["addressed", "deferred"]),
    reason=MAYBE,
)
NOTES = st.none() | st.builds(
    PartneringNote,
    style=st.none() | st.sampled_from(["talk-options", "team-decides"]) | WORDS,
    learning_preferences=st.lists(st.sampled_from(["written", "read-myself"]) | WORDS).map(tuple),
    text=MAYBE,
)
PLANS = st.builds(
    AgreedPlan,
    plan_id=st.text(min_size=1, max_size=60),
    patient_id=st.just(PATIENT_ID),
    encounter_id=st.none() | st.just("enc-1"),
    practitioner_ref=st.just("Practitioner/dr"),
    items=st.lists(ITEMS, max_size=4).map(tuple),
    goals=st.lists(st.builds(PlanGoal, text=WORDS), max_size=3).map(tuple),
    follow_up=MAYBE,
    partnering_note=NOTES,
    outcomes=st.lists(OUTCOMES, max_size=3).map(tuple),
    something_else_asked=st.booleans(),
    something_else_added=st.lists(WORDS, max_size=2).map(tuple),
    visit_start=st.just(VISIT_START),
    finished_at=st.just(VISIT_START + timedelta(minutes=30)),
)


def validates(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


# Found by CI: an item agreed "later" in the same words as a line deferred (one activity).
AGREED_AND_DEFERRED = AgreedPlan(
    plan_id="0",
    patient_id=PATIENT_ID,
    encounter_id=None,
    practitioner_ref="Practitioner/dr",
    items=(PlanItem("0", None, "later", None), PlanItem("0 ", "mom", "now", None)),
    goals=(),
    follow_up=None,
    partnering_note=None,
    outcomes=(AgendaOutcome("0", "patient", "deferred", None),),
    something_else_asked=False,
    something_else_added=(),
    visit_start=VISIT_START,
    finished_at=VISIT_START + timedelta(minutes=30),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=PLANS, as_careplan=st.booleans())
@example(plan=AGREED_AND_DEFERRED, as_careplan=True)
def test_any_text_yields_valid_resources(plan: AgreedPlan, as_careplan: bool) -> None:
    writes = plan_writes(plan, WriteOptions(plan_as_careplan=as_careplan))

    assert len({w.full_url for w in writes}) == len(writes)
    for write in writes:
        validates(write.resource)
        if write.resource_type == "CarePlan":
            # Every item with words arrives whole, as the next visit will read it.
            descriptions = [a["detail"]["description"] for a in write.resource.get("activity", [])]
            deferred = [clean(o.text) for o in plan.outcomes if o.status == "deferred"]
            deferred = [t for t in deferred if has_words(t)]
            # A "later" item that is also a deferred line is that line's one activity.
            folded = {t.casefold() for t in deferred}
            items = [
                clean(i.text)
                for i in plan.items
                if has_words(i.text)
                and not (i.when == "later" and clean(i.text).casefold() in folded)
            ]
            assert descriptions == [*items, *deferred]
            # Our own output, parsed to prove it well-formed.
            ElementTree.fromstring(write.resource["text"]["div"])  # noqa: S314
        if write.resource_type == "DocumentReference":
            data = write.resource["content"][0]["attachment"]["data"]
            assert base64.b64decode(data, validate=True).decode("utf-8").endswith("\n")
    validates(provenance_for("CarePlan/1", plan))
