"""Flip's Questionnaire as a form to fill, and a person's answers as a QuestionnaireResponse.

The form is read from the one Questionnaire definition (questionnaire.py): each item's
words come from its `text`, or from the FHIR translation extension on `_text` (and on each
answerOption's `_display`) for another language, so no template holds a second copy of the
questions. The response follows R4 (https://hl7.org/fhir/R4/questionnaireresponse.html):
Flip's canonical URL and version, `completed` then `amended`, subject the patient, author
and source the person signed in, and Flip's identifier so a retry or a change never makes a
second one. A patient who keeps the answers from their family gets the v3-Confidentiality
`R` label (https://hl7.org/fhir/R4/security-labels.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from fhir_mappings import codes
from fhir_mappings import questionnaire as q

# The form's limits: long enough for a worry in a person's own words, short enough to read
# at a glance in the visit.
MAX_CONCERN_CHARS = 500
MAX_OTHER_CONCERNS = 5


@dataclass(frozen=True, slots=True)
class FormOption:
    """One answer to choose: its code and its words in the form's language."""

    code: str
    display: str


@dataclass(frozen=True, slots=True)
class FormItem:
    """One question of the form, in the form's language."""

    link_id: str
    text: str
    kind: str  # text | boolean | choice
    repeats: bool
    options: tuple[FormOption, ...]


@dataclass(frozen=True, slots=True)
class FormAnswers:
    """What one person answered, as the form holds it."""

    number_one_concern: str | None = None
    no_current_concern: bool = False
    other_concerns: tuple[str, ...] = ()
    partnering_style: str | None = None
    learning_preferences: tuple[str, ...] = ()
    language: str | None = None
    respondent: str | None = None
    respondent_name: str | None = None  # someone the chart does not name: who they are
    share_with_family: bool | None = None  # None: not asked (a parent)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form, kept (sealed) with the response."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> FormAnswers:
        """The answers stored by `to_json`."""
        return cls(
            number_one_concern=value.get("number_one_concern"),
            no_current_concern=bool(value.get("no_current_concern")),
            other_concerns=tuple(value.get("other_concerns") or ()),
            partnering_style=value.get("partnering_style"),
            learning_preferences=tuple(value.get("learning_preferences") or ()),
            language=value.get("language"),
            respondent=value.get("respondent"),
            respondent_name=value.get("respondent_name"),
            share_with_family=value.get("share_with_family"),
        )


def form_items(questionnaire: Mapping[str, Any], lang: str) -> dict[str, FormItem]:
    """Each item of the Questionnaire by linkId, its words in `lang` where it has them."""
    items: dict[str, FormItem] = {}
    for item in questionnaire.get("item") or []:
        options = tuple(
            FormOption(
                str(option["valueCoding"]["code"]),
                _words(option["valueCoding"], "display", lang),
            )
            for option in item.get("answerOption") or []
            if isinstance(option.get("valueCoding"), dict)
        )
        if item["linkId"] == q.LANGUAGE and not options:
            # The item answers from the R4 languages value set: offer the clinic's list.
            options = tuple(FormOption(code, name) for code, name in q.LANGUAGES.items())
        items[item["linkId"]] = FormItem(
            link_id=item["linkId"],
            text=_words(item, "text", lang),
            kind=item["type"],
            repeats=bool(item.get("repeats")),
            options=options,
        )
    return items


def for_family(items: Mapping[str, FormItem], lang: str, name: str) -> dict[str, FormItem]:
    """The items as a parent, or someone else, is asked them: about `name`'s health (the
    patient's given name), in `lang` (English where Flip has no family words in it)."""
    words = q.FAMILY_WORDS.get(lang, q.FAMILY_WORDS["en"])
    return {
        link_id: replace(item, text=words[link_id].format(name=name)) if link_id in words else item
        for link_id, item in items.items()
    }


def answers_to_questionnaire_response(
    answers: FormAnswers,
    *,
    patient_id: str,
    author: str,
    identifier: str,
    authored: datetime,
    amended: bool,
    lang: str,
    base: str = codes.DEFAULT_BASE,
    source: str | None = None,
) -> dict[str, Any]:
    """The QuestionnaireResponse of `answers` by `author` ("Patient/1"), validated as R4.

    `source` is who the answers come from: the author, unless staff entered them for
    someone the chart does not name (then the patient)."""
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "language": lang,
        "identifier": {"system": codes.identifier_system(base), "value": identifier},
        "questionnaire": f"{codes.questionnaire_url(base)}|{codes.QUESTIONNAIRE_VERSION}",
        "status": "amended" if amended else "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored.isoformat(),
        "author": {"reference": author},
        "source": {"reference": source or author},
        "item": _items(answers, base),
    }
    if answers.share_with_family is False:
        resource["meta"] = {"security": [dict(codes.RESTRICTED_LABEL)]}
    QuestionnaireResponse.model_validate(resource)
    return resource


def with_flips_own(ehr: list[Any], own: list[dict[str, Any]]) -> list[Any]:
    """The EHR's responses and those Flip keeps, each once: a response the EHR took carries
    Flip's identifier, so Flip's copy of it is left out (the EHR's may be newer)."""
    seen = {_identifier_of(response) for response in ehr} - {None}
    return [*ehr, *(response for response in own if _identifier_of(response) not in seen)]


def _identifier_of(response: Any) -> tuple[str, str] | None:
    identifiers = response.get("identifier") if isinstance(response, dict) else None
    # R4 gives a QuestionnaireResponse one identifier; some servers send a list anyway.
    for found in identifiers if isinstance(identifiers, list) else [identifiers]:
        if isinstance(found, dict) and isinstance(found.get("value"), str):
            return str(found.get("system")), found["value"]
    return None


def previsit_identifier(key: str) -> str:
    """The identifier value of the response kept under `key`."""
    return f"{codes.PREVISIT_PREFIX}{key}"


def _items(answers: FormAnswers, base: str) -> list[dict[str, Any]]:
    found: list[tuple[str, list[dict[str, Any]]]] = []
    if answers.number_one_concern:
        found.append((q.NUMBER_ONE_CONCERN, [{"valueString": answers.number_one_concern}]))
    if answers.no_current_concern:
        # "No current concern" is an answer in its own right (DOMAIN.md), so it is recorded.
        found.append((q.NO_CURRENT_CONCERN, [{"valueBoolean": True}]))
    if answers.other_concerns:
        found.append((q.OTHER_CONCERNS, [{"valueString": o} for o in answers.other_concerns]))
    if answers.partnering_style:
        found.append(
            (
                q.PARTNERING_STYLE,
                [
                    _coding(
                        codes.partnering_style_system(base),
                        answers.partnering_style,
                        q.PARTNERING_STYLES,
                    )
                ],
            )
        )
    if answers.learning_preferences:
        system = codes.learning_preference_system(base)
        found.append(
            (
                q.LEARNING_PREFERENCES,
                [
                    _coding(system, code, q.LEARNING_PREFERENCES_DISPLAY)
                    for code in answers.learning_preferences
                ],
            )
        )
    if answers.language:
        found.append((q.LANGUAGE, [_coding(codes.BCP47, answers.language, q.LANGUAGES)]))
    if answers.respondent:
        found.append(
            (
                q.RESPONDENT,
                [_coding(codes.respondent_system(base), answers.respondent, q.RESPONDENTS)],
            )
        )
    if answers.respondent_name:
        found.append((q.RESPONDENT_NAME, [{"valueString": answers.respondent_name}]))
    if answers.share_with_family is not None:
        found.append((q.SHARE_WITH_FAMILY, [{"valueBoolean": answers.share_with_family}]))
    return [{"linkId": link_id, "answer": answer} for link_id, answer in found]


def _coding(system: str, code: str, displays: Mapping[str, str]) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if code in displays:
        coding["display"] = displays[code]
    return {"valueCoding": coding}


def _words(element: Mapping[str, Any], name: str, lang: str) -> str:
    # The translation extension sits on the primitive's `_name` element; its `lang` may be
    # a region tag ("es-MX"), which a form in plain `es` reads too.
    for extension in (element.get(f"_{name}") or {}).get("extension") or []:
        if extension.get("url") != codes.TRANSLATION_EXTENSION:
            continue
        parts = {e.get("url"): e for e in extension.get("extension") or []}
        found_lang = str(parts.get("lang", {}).get("valueCode", ""))
        content = parts.get("content", {}).get("valueString")
        if found_lang.split("-")[0] == lang and isinstance(content, str):
            return content
    return str(element.get(name, ""))
