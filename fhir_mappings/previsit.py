"""Pre-visit QuestionnaireResponses -> PreVisitAnswers: who said what, in their own words.

Which responses count (R4 QuestionnaireResponse, https://hl7.org/fhir/R4/questionnaireresponse.html):
- status `completed` or `amended` (in-progress or stopped answers were never sent);
- `questionnaire` is Flip's canonical URL, with or without `|version`, or a site's own
  questionnaire listed in `questionnaire_urls` (its linkIds mapped by `linkid_map`);
- `subject` is the patient and `authored` lies within `window` before the visit start
  (a response authored after the start belongs to a later visit);
- `author` is the Patient or a RelatedPerson of that patient; anyone else is skipped.
Only the latest response of each author is kept, newest first; staff entering the answers
of people the chart does not name enter each person's in a response of its own, so each of
those is kept. Text is kept exactly as written: Flip shows the person's own words, never a
paraphrase.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fhir_mappings import codes
from fhir_mappings import questionnaire as q
from fhir_mappings.fields import (
    Resource,
    Skips,
    dicts,
    first_given_name,
    instant,
    reference,
    text,
    valid_resource,
)
from fhir_mappings.visit_model import PreVisitAnswers, Respondent

log = logging.getLogger(__name__)

ANSWERED = frozenset({"completed", "amended"})
# v3 RoleCode relationships, in the words a family uses (https://terminology.hl7.org/
# CodeSystem-v3-RoleCode.html): "sent 2 days ago by mom" reads as the clinic talks.
FAMILY_WORDS: dict[str, str] = {
    "MTH": "mom",
    "NMTH": "mom",
    "FTH": "dad",
    "NFTH": "dad",
    "PRN": "parent",
    "NPRN": "parent",
    "GUARD": "guardian",
    "GRMTH": "grandma",
    "GRFTH": "grandpa",
}
# Relationships that make an answer a parent's (the Questionnaire's "parent or guardian").
PARENT_CODES = frozenset(
    {"MTH", "NMTH", "FTH", "NFTH", "PRN", "NPRN", "GUARD", "STPMTH", "STPFTH", "ADOPTP"}
)


DURING_THE_VISIT = timedelta(hours=12)
STAFF = ("Practitioner/", "PractitionerRole/")
STAFF_ENTERED = "someone with them (entered by staff)"


@dataclass(frozen=True, slots=True)
class ReadingContext:
    """What deciding about one QuestionnaireResponse needs to know."""

    patient_ref: str  # "Patient/123"
    patient_name: str
    family: Mapping[str, Resource]  # "RelatedPerson/9" -> that RelatedPerson of the patient
    earliest: datetime
    visit_start: datetime
    canonicals: frozenset[str]
    linkid_map: Mapping[str, str]
    base: str


def reading_context(
    *,
    patient_id: str,
    patient_name: str,
    family: Mapping[str, Resource],
    visit_start: datetime,
    window: timedelta,
    base: str,
    linkid_map: Mapping[str, str] | None,
    questionnaire_urls: Collection[str] | None,
    answered_after: datetime | None = None,
) -> ReadingContext:
    """The context read_answers needs, with canonical URLs normalised. Answers given
    before `answered_after` (the last plan agreed) were that visit's: they do not count."""
    urls = {codes.questionnaire_url(base), *(questionnaire_urls or ())}
    return ReadingContext(
        patient_ref=f"Patient/{patient_id}",
        patient_name=patient_name,
        family=family,
        earliest=max(visit_start - window, answered_after or visit_start - window),
        visit_start=visit_start,
        canonicals=frozenset(u.split("|")[0] for u in urls),
        linkid_map=dict(linkid_map or {}),
        base=base,
    )


def read_answers(
    responses: list[object], context: ReadingContext, skips: Skips
) -> tuple[PreVisitAnswers, ...]:
    """The latest answers per person in the window, newest first, each with the earlier
    ones it replaces; the rest skipped."""
    by_person: dict[str, list[PreVisitAnswers]] = {}
    for value in responses:
        answers = questionnaire_response_to_answers(value, context, skips)
        if answers is None:
            continue
        # Staff-entered: one response per person the chart does not name.
        person = answers.response_id if answers.author.startswith(STAFF) else answers.author
        by_person.setdefault(person, []).append(answers)
    latest = []
    for given in by_person.values():
        newest, *earlier = sorted(given, key=_sort_key, reverse=True)
        latest.append(replace(newest, earlier=tuple(earlier)))
    return tuple(sorted(latest, key=_sort_key, reverse=True))


def questionnaire_response_to_answers(
    value: object, context: ReadingContext, skips: Skips
) -> PreVisitAnswers | None:
    """One respondent's answers, or None (counted and logged) when the response does not count."""
    resource = valid_resource(value, "QuestionnaireResponse", skips, log)
    if resource is None:
        return None
    reason = _reason_to_skip(resource, context)
    if reason:
        skips.skip(log, "QuestionnaireResponse", reason)
        return None
    author = reference(resource.get("author")) or ""
    answers = _answers_by_link_id(resource, context.linkid_map)
    concern = next(iter(_strings(answers.get(q.NUMBER_ONE_CONCERN))), None)
    # "No current concern" is an answer in its own right (DOMAIN.md). When someone also
    # wrote a concern, their words win: the clinician must not miss them.
    no_concern = concern is None and True in _booleans(answers.get(q.NO_CURRENT_CONCERN))
    # A response labelled restricted is for the care team, whatever its sharing answer says.
    share = next(_booleans(answers.get(q.SHARE_WITH_FAMILY)), True) and not _restricted(resource)
    respondent = _respondent(answers, author, context)
    given_name = next(iter(_strings(answers.get(q.RESPONDENT_NAME))), None)
    return PreVisitAnswers(
        response_id=str(resource["id"]),
        author=author,
        author_display=_author_display(author, context, respondent, given_name),
        respondent=respondent,
        authored=instant(resource.get("authored"), context.visit_start.tzinfo),
        number_one_concern=concern,
        no_current_concern=no_concern,
        other_concerns=tuple(_strings(answers.get(q.OTHER_CONCERNS))),
        partnering_style=next(
            _codes(answers.get(q.PARTNERING_STYLE), codes.partnering_style_system(context.base)),
            None,
        ),
        learning_preferences=tuple(
            dict.fromkeys(
                _codes(
                    answers.get(q.LEARNING_PREFERENCES),
                    codes.learning_preference_system(context.base),
                )
            )
        ),
        language=_language(answers.get(q.LANGUAGE)),
        share_with_family=share,
    )


def _reason_to_skip(resource: Resource, context: ReadingContext) -> str | None:
    if resource.get("status") not in ANSWERED:
        return "status is not completed or amended"
    canonical = resource.get("questionnaire")
    if not isinstance(canonical, str) or canonical.split("|")[0] not in context.canonicals:
        return "not an answer to Flip's questionnaire"
    if reference(resource.get("subject")) != context.patient_ref:
        return "subject is not the patient"
    authored = instant(resource.get("authored"), context.visit_start.tzinfo)
    if authored is None:
        return "no authored date"
    # Answers given at check-in, on the clinic's tablet, come after the visit has begun.
    if not context.earliest <= authored <= context.visit_start + DURING_THE_VISIT:
        return "authored outside the pre-visit window"
    author = reference(resource.get("author"))
    if (
        author != context.patient_ref
        and author not in context.family
        and not _staff_entered(resource, context)
    ):
        return "author is neither the patient nor their related person"
    return None


def _staff_entered(resource: Resource, context: ReadingContext) -> bool:
    # At check-in, staff enter the answers of someone the chart does not name: the author
    # is the staff user, the source the patient.
    author = reference(resource.get("author")) or ""
    return author.startswith(STAFF) and reference(resource.get("source")) == context.patient_ref


def _restricted(resource: Resource) -> bool:
    meta = resource.get("meta")
    labels = dicts(meta.get("security")) if isinstance(meta, dict) else []
    return any(
        label.get("system") == codes.CONFIDENTIALITY and label.get("code") == codes.RESTRICTED
        for label in labels
    )


def _sort_key(answers: PreVisitAnswers) -> tuple[datetime, str]:
    assert answers.authored is not None  # _reason_to_skip drops responses without a date
    return (answers.authored, answers.response_id)


def _answers_by_link_id(
    resource: Resource, linkid_map: Mapping[str, str]
) -> dict[str, list[Resource]]:
    found: dict[str, list[Resource]] = {}
    _collect(resource.get("item"), linkid_map, found, depth=0)
    return found


def _collect(
    value: object, linkid_map: Mapping[str, str], found: dict[str, list[Resource]], depth: int
) -> None:
    # Sites group questions; nested items (under items or answers) are read the same way.
    # The depth bound keeps a pathological response from exhausting the stack. An item's
    # answers are listed once: a pre-visit answer may hold thousands.
    if depth > 20:
        return
    for item in dicts(value):
        answers = dicts(item.get("answer"))
        link_id = item.get("linkId")
        if isinstance(link_id, str):
            found.setdefault(linkid_map.get(link_id, link_id), []).extend(answers)
        _collect(item.get("item"), linkid_map, found, depth + 1)
        for answer in answers:
            if "item" in answer:  # rare
                _collect(answer["item"], linkid_map, found, depth + 1)


def _strings(answers: list[Resource] | None) -> list[str]:
    # In one comprehension: a pre-visit answer may hold thousands.
    return [found for answer in answers or [] if (found := text(answer.get("valueString")))]


def _booleans(answers: list[Resource] | None) -> Iterator[bool]:
    for answer in answers or []:
        if isinstance(answer.get("valueBoolean"), bool):
            yield answer["valueBoolean"]


def _codes(answers: list[Resource] | None, system: str) -> Iterator[str]:
    # A coding from Flip's CodeSystem, or a bare code (some portals drop the system).
    for answer in answers or []:
        coding = answer.get("valueCoding")
        if isinstance(coding, dict) and coding.get("system") in (system, None):
            code = coding.get("code")
            if isinstance(code, str) and code:
                yield code


def _language(answers: list[Resource] | None) -> str | None:
    for answer in answers or []:
        coding = answer.get("valueCoding")
        if isinstance(coding, dict) and (code := text(coding.get("code"))):
            return code
        if found := text(answer.get("valueString")):
            return found
    return None


def _respondent(
    answers: dict[str, list[Resource]], author: str, context: ReadingContext
) -> Respondent:
    for code in _codes(answers.get(q.RESPONDENT), codes.respondent_system(context.base)):
        try:
            return Respondent(code)
        except ValueError:
            continue
    if author == context.patient_ref:
        return Respondent.PATIENT
    related = context.family.get(author)
    return (
        Respondent.PARENT
        if related and _relationship(related) in PARENT_CODES
        else Respondent.OTHER
    )


def _author_display(
    author: str, context: ReadingContext, respondent: Respondent, given_name: str | None
) -> str:
    if author == context.patient_ref and respondent is not Respondent.PATIENT:
        # Someone else on the patient's own portal account (a portal's questionnaire may ask
        # who is answering): never named as the patient.
        who = given_name or ("a parent" if respondent is Respondent.PARENT else "someone else")
        return f"{who}, on {context.patient_name}'s account"
    if author == context.patient_ref:
        return context.patient_name
    if author.startswith(STAFF):
        # Someone the chart does not name, in the words they gave for who they are.
        return f"{given_name} (entered by staff)" if given_name else STAFF_ENTERED
    related = context.family.get(author, {})
    words = FAMILY_WORDS.get(_relationship(related) or "")
    return words or first_given_name(related) or "family member"


def _relationship(related: Resource) -> str | None:
    for concept in dicts(related.get("relationship")):
        for coding in dicts(concept.get("coding")):
            if coding.get("system") in (codes.ROLE_CODE, None) and isinstance(
                coding.get("code"), str
            ):
                return str(coding["code"])
    return None
