"""The flipped agenda over real HTTP: read from the sandbox chart, changed through the API."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.browser import scrape_fhir_metrics
from tests.e2e.conftest import launch, previsit
from tests.e2e.deployment import Deployment
from tests.e2e.test_plan import PLAN, close_agenda, flip_resources, wait_written


def test_the_teen_comes_first_then_mom_then_the_clinician(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    body = visit.get()
    assert body["not_readable"] == []  # every read was allowed
    agenda = body["agenda"]
    assert [(i["source"], i["text"]) for i in agenda] == [
        ("patient", "Lacrosse travel without my vest"),
        ("patient", "Sleepovers"),
        ("family", "Her weight gain this winter"),
        ("clinician", "Review FEV1 trend"),
    ]
    mom = agenda[2]
    assert mom["said_by"] == "mom"
    assert mom["sources"] == ["family", "clinician"]
    assert [m["text"] for m in mom["merged"]] == ["Weight gain and enzyme dosing"]
    number_one = visit.get()["number_one"]
    assert (number_one["text"], number_one["said_by"]) == (
        "Lacrosse travel without my vest",
        "Maya",
    )
    assert "sent 2 days ago by Maya" in visit.page.text
    shown = visit.page.text[visit.page.text.index('id="agenda"') :]
    order = [shown.index(f'data-id="{i["id"]}"') for i in agenda]
    assert order == sorted(order)  # the page shows them in the same order


def test_changes_survive_a_reload_and_a_relaunch(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    ids = [i["id"] for i in visit.get()["agenda"]]
    added = visit.send(
        "POST", "/visit/agenda/items", {"text": "School letter", "source": "clinician"}
    )
    assert added.status_code == 201
    assert added.json()["merged_into"] is None  # a topic of its own: its own line
    new_id = added.json()["item"]["id"]
    order = [ids[3], ids[0], new_id, ids[1], ids[2]]
    saved = visit.send(
        "PUT",
        "/visit/agenda",
        {
            "order": order,
            "statuses": {
                ids[0]: {"status": "addressed"},
                ids[1]: {"status": "deferred", "reason": "Next visit"},
            },
        },
    )
    assert saved.status_code == 200, saved.text
    for again in (visit, launch(family_visit)):
        agenda = again.get()["agenda"]
        assert [i["id"] for i in agenda] == order
        by_id = {i["id"]: i for i in agenda}
        assert by_id[ids[0]]["status"] == "addressed"
        assert (by_id[ids[1]]["status"], by_id[ids[1]]["reason"]) == ("deferred", "Next visit")
        assert by_id[new_id]["text"] == "School letter"


def test_the_nurse_and_the_physician_share_one_agenda_but_not_their_reflections(
    family_visit: Deployment,
) -> None:
    nurse, physician = launch(family_visit, practitioner="dr2"), launch(family_visit)
    added = nurse.send("POST", "/visit/agenda/items", {"text": "Rooming: sats 94%"})
    assert added.status_code == 201
    teen = nurse.get()["agenda"][0]["id"]
    assert nurse.send("PUT", "/visit/agenda", {"statuses": {teen: {"status": "addressed"}}}).ok
    assert nurse.send("PUT", "/visit/reflection", {"flexible": "the nurse's own"}).ok
    assert physician.send("PUT", "/visit/reflection", {"flexible": "the physician's own"}).ok
    seen = {i["id"]: i for i in physician.get()["agenda"]}
    assert seen[added.json()["item"]["id"]]["text"] == "Rooming: sats 94%"
    assert seen[teen]["status"] == "addressed"
    assert seen[teen]["changed_by"] == "Practitioner/dr2"
    page = physician.browser.get(physician.page.url).text
    assert "the physician&#39;s own" in page and "the nurse&#39;s own" not in page
    # Who changed each line, in words: the nurse by name, the physician's own as "you".
    assert "addressed by Ari Nguyen" in page and "added by Ari Nguyen" in page
    assert "addressed by you" in nurse.browser.get(nurse.page.url).text
    assert "the nurse&#39;s own" in nurse.browser.get(nurse.page.url).text


def test_any_clinician_of_the_visit_finishes_and_the_plan_says_who(
    family_visit: Deployment,
) -> None:
    nurse, physician = launch(family_visit, practitioner="dr2"), launch(family_visit)
    close_agenda(nurse)
    assert nurse.send("POST", "/visit/plan", PLAN).status_code == 202
    assert wait_written(nurse)["state"] == "written"
    seen = physician.send("GET", "/visit/writeback", None).json()  # the same visit's plan
    assert seen["finished_by"] == "Ari Nguyen"
    assert "by Ari Nguyen: the plan" in seen["confirmation"]
    [plan] = flip_resources(family_visit, "CarePlan")
    assert plan["author"] == {"reference": "Practitioner/dr2", "display": "Ari Nguyen"}


def test_merge_and_split_by_hand(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    agenda = visit.get()["agenda"]
    fev1, teen = agenda[3]["id"], agenda[0]["id"]
    weight = agenda[2]["merged"][0]["id"]
    assert visit.send("POST", "/visit/agenda/merge", {"item": fev1, "into": teen}).ok
    assert visit.send("POST", "/visit/agenda/split", {"item": weight}).ok
    agenda = visit.get()["agenda"]
    assert [m["id"] for m in agenda[0]["merged"]] == [fev1]
    assert agenda[2]["merged"] == []
    assert agenda[-1]["id"] == weight


def test_an_added_item_on_a_familys_topic_says_which_line_it_joined(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    mom = visit.get()["agenda"][2]
    added = visit.send("POST", "/visit/agenda/items", {"text": "Weight gain plan for winter"})
    assert added.status_code == 201, added.text
    joined = added.json()["merged_into"]
    assert joined == {
        "id": mom["id"],
        "text": "Her weight gain this winter",
        "match_reason": "both mention: gain, weight, winter",
    }
    assert added.json()["item"]["id"] in [m["id"] for m in visit.get()["agenda"][2]["merged"]]
    # Added for mom (her words, taken down by the clinician): a line of the family's own.
    for_mom = {"text": "Weight gain worries", "source": "family"}
    assert visit.send("POST", "/visit/agenda/items", for_mom).json()["merged_into"] is None


def test_agenda_actions_reuse_the_launchs_chart_read(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    agenda = visit.get()["agenda"]
    before = scrape_fhir_metrics(family_visit.flip_url)
    fev1, teen = agenda[3]["id"], agenda[0]["id"]
    assert visit.send("POST", "/visit/agenda/merge", {"item": fev1, "into": teen}).ok
    assert visit.send("POST", "/visit/agenda/split", {"item": fev1}).ok
    assert visit.send("PUT", "/visit/agenda", {"order": [teen]}).ok
    assert visit.send("POST", "/visit/agenda/items", {"text": "Weight gain plan"}).ok
    assert (scrape_fhir_metrics(family_visit.flip_url) - before).requests == 0
    assert visit.get()["agenda"][0]["merged"] == []  # the page reads the chart again


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/visit/agenda", {"statuses": {"x": {"status": "deferred"}}}, "x.reason: is required"),
        (
            "/visit/agenda",
            {"statuses": {"x": {"status": "done"}}},
            "x.status: 'done' is not one of",
        ),
        ("/visit/agenda", {"order": ["a", "a"]}, "order: lists an entry twice"),
        ("/visit/agenda", ["not", "an", "object"], "the body: ['not', 'an', 'object'] is not"),
        ("/visit/agenda/items", {"text": "  "}, "text: must not be empty"),
        (
            "/visit/agenda/items",
            {"text": "x" * 2001},
            "text: is 2001 characters; the limit is 2000",
        ),
        ("/visit/agenda/items", {"text": "x", "source": "nurse"}, "source: 'nurse' is not one of"),
        ("/visit/agenda/merge", {"item": "nope", "into": "nope"}, "No agenda item"),
    ],
)
def test_bad_input_gets_a_clear_json_message(
    family_visit: Deployment, path: str, body: Any, message: str
) -> None:
    visit = launch(family_visit)
    method = "PUT" if path == "/visit/agenda" else "POST"
    answer = visit.send(method, path, body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert message in answer.json()["message"]


def test_script_in_an_item_is_stored_as_text_and_shown_escaped(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    script = "<script>alert('x')</script> & <b>bold</b>"
    assert visit.send("POST", "/visit/agenda/items", {"text": script}).status_code == 201
    assert visit.get()["agenda"][-1]["text"] == script
    page = visit.browser.get(visit.page.url)
    assert script not in page.text
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page.text
    )


def test_a_malformed_response_never_breaks_the_page(family_visit: Deployment) -> None:
    broken = previsit("qr-broken", "Patient/p1", "ignored", days_ago=1)
    broken["item"] = [
        {"linkId": "number-one-concern", "answer": [{"valueInteger": 7}]},
        {"linkId": "unknown-question", "item": [{"linkId": "x"}]},
    ]
    stranger = previsit("qr-stranger", "Practitioner/dr1", "Not the family", days_ago=1)
    family_visit.put(broken)
    family_visit.put(stranger)
    visit = launch(family_visit)
    texts = [i["text"] for i in visit.get()["agenda"]]
    assert "Not the family" not in texts
    assert "Her weight gain this winter" in texts
    assert "Visit with" in visit.page.text
