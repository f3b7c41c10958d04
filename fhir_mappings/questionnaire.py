"""Flip's published pre-visit Questionnaire and the CodeSystems its answers use.

The linkIds below are a public contract: patient portals answer them, and sites whose
portal has its own questionnaire map their linkIds to these. The Questionnaire is R4
(https://hl7.org/fhir/R4/questionnaire.html) and SDC-friendly: answer choices are inline
`answerOption` codings, so a form filler needs no terminology server.
"""

from __future__ import annotations

from typing import Any

from fhir_mappings import codes

# linkIds: the public contract.
NUMBER_ONE_CONCERN = "number-one-concern"
NO_CURRENT_CONCERN = "no-current-concern"
OTHER_CONCERNS = "other-concerns"
PARTNERING_STYLE = "partnering-style"
LEARNING_PREFERENCES = "learning-preferences"
LANGUAGE = "language"
RESPONDENT = "respondent"
SHARE_WITH_FAMILY = "share-with-family"
LINK_IDS = (
    NUMBER_ONE_CONCERN,
    NO_CURRENT_CONCERN,
    OTHER_CONCERNS,
    PARTNERING_STYLE,
    LEARNING_PREFERENCES,
    LANGUAGE,
    RESPONDENT,
    SHARE_WITH_FAMILY,
)

# The question clinicians in the coproduction study asked (shared/DOMAIN.md), kept whole.
NUMBER_ONE_CONCERN_TEXT = (
    "Currently, what is your number ONE concern or goal related to your health? This could "
    "be related to a specific symptom (e.g., diarrhea), worry for the future (e.g., need for "
    "surgery, cost of care) or how your condition might impact an upcoming life event (e.g., "
    "wedding, travel). Or you can report that you have no current concerns or goals."
)

# Partnering is "a spectrum, not either/or" (DOMAIN.md): five steps, least to most active.
PARTNERING_STYLES: dict[str, str] = {
    "team-decides": "I prefer my care team to decide",
    "team-recommends": "I like to hear my care team's recommendation, then agree",
    "talk-options": "I like to talk through the options and decide together",
    "bring-questions": "I bring my questions and concerns, and we decide together",
    "research-and-bring-ideas": "I research and bring ideas, and we decide together",
}
LEARNING_PREFERENCES_DISPLAY: dict[str, str] = {
    "talk-it-through": "Talk it through with me",
    "written": "Give me something written",
    "pictures-or-video": "Show me pictures or video",
    "read-myself": "Let me read about it myself",
}
RESPONDENTS: dict[str, str] = {
    "patient": "The patient",
    "parent": "A parent or guardian",
    "other": "Someone else",
}


def partnering_style_display(code: str) -> str | None:
    """The words of a partnering-style code, or None when Flip does not know it."""
    return PARTNERING_STYLES.get(code)


def learning_preference_display(code: str) -> str | None:
    """The words of a learning-preference code, or None when Flip does not know it."""
    return LEARNING_PREFERENCES_DISPLAY.get(code)


def respondent_display(code: str) -> str | None:
    """The words of a respondent code, or None when Flip does not know it."""
    return RESPONDENTS.get(code)


def build_questionnaire(base: str = codes.DEFAULT_BASE) -> dict[str, Any]:
    """Flip's pre-visit Questionnaire as R4 JSON, canonical URL under `base`."""
    return {
        "resourceType": "Questionnaire",
        "id": codes.QUESTIONNAIRE_ID,
        "meta": {"profile": [codes.SDC_QUESTIONNAIRE_PROFILE]},
        "url": codes.questionnaire_url(base),
        "version": codes.QUESTIONNAIRE_VERSION,
        "name": "FlipPreVisit",
        "title": "Before your visit",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Flip",
        "description": (
            "Two questions before a clinic visit: your number one concern or goal, and how "
            "you like to partner in your care. Your care team reads the answers first."
        ),
        "item": [
            {"linkId": NUMBER_ONE_CONCERN, "text": NUMBER_ONE_CONCERN_TEXT, "type": "text"},
            {
                "linkId": NO_CURRENT_CONCERN,
                "text": "I have no current concerns or goals",
                "type": "boolean",
            },
            {
                "linkId": OTHER_CONCERNS,
                "text": "Anything else you would like to talk about?",
                "type": "text",
                "repeats": True,
            },
            _choice(
                PARTNERING_STYLE,
                "How do you like to partner in your health care?",
                codes.partnering_style_system(base),
                PARTNERING_STYLES,
                control="radio-button",
            ),
            _choice(
                LEARNING_PREFERENCES,
                "How do you like to learn about your health?",
                codes.learning_preference_system(base),
                LEARNING_PREFERENCES_DISPLAY,
                control="check-box",
                repeats=True,
            ),
            {
                "linkId": LANGUAGE,
                "text": "In what language would you like to talk about your care?",
                "type": "choice",
                "answerValueSet": codes.LANGUAGES_VALUE_SET,
            },
            _choice(
                RESPONDENT,
                "Who is answering these questions?",
                codes.respondent_system(base),
                RESPONDENTS,
                control="radio-button",
            ),
            {
                "linkId": SHARE_WITH_FAMILY,
                "text": "May your family see these answers? (No: only your care team sees them)",
                "type": "boolean",
                "initial": [{"valueBoolean": True}],
            },
        ],
    }


def build_code_systems(base: str = codes.DEFAULT_BASE) -> list[dict[str, Any]]:
    """Flip's own CodeSystems (partnering-style, learning-preference, respondent) as R4 JSON."""
    return [
        _code_system(
            "partnering-style",
            "Partnering styles",
            codes.partnering_style_system(base),
            PARTNERING_STYLES,
            "How a person likes to partner in their care, from least to most active.",
        ),
        _code_system(
            "learning-preference",
            "Learning preferences",
            codes.learning_preference_system(base),
            LEARNING_PREFERENCES_DISPLAY,
            "How a person likes to learn about their health.",
        ),
        _code_system(
            "respondent",
            "Respondents",
            codes.respondent_system(base),
            RESPONDENTS,
            "Who answered Flip's pre-visit questions.",
        ),
    ]


def _choice(
    link_id: str,
    text: str,
    system: str,
    concepts: dict[str, str],
    *,
    control: str,
    repeats: bool = False,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "extension": [
            {
                "url": codes.ITEM_CONTROL_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": codes.ITEM_CONTROL_SYSTEM, "code": control}]
                },
            }
        ],
        "linkId": link_id,
        "text": text,
        "type": "choice",
        "answerOption": [
            {"valueCoding": {"system": system, "code": code, "display": display}}
            for code, display in concepts.items()
        ],
    }
    if repeats:
        item["repeats"] = True
    return item


def _code_system(
    slug: str, title: str, url: str, concepts: dict[str, str], description: str
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": f"flip-{slug}",
        "url": url,
        "version": codes.QUESTIONNAIRE_VERSION,
        "name": "Flip" + "".join(part.title() for part in slug.split("-")),
        "title": title,
        "status": "active",
        "publisher": "Flip",
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": [{"code": code, "display": display} for code, display in concepts.items()],
    }
