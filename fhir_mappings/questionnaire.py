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
RESPONDENT_NAME = "respondent-name"
SHARE_WITH_FAMILY = "share-with-family"
LINK_IDS = (
    NUMBER_ONE_CONCERN,
    NO_CURRENT_CONCERN,
    OTHER_CONCERNS,
    PARTNERING_STYLE,
    LEARNING_PREFERENCES,
    LANGUAGE,
    RESPONDENT,
    RESPONDENT_NAME,
    SHARE_WITH_FAMILY,
)

# The longest name (and who they are) someone the chart does not name may give.
MAX_NAME_CHARS = 100

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

# The languages the form offers, each named in its own words (a person looks for their own
# language's name, not its English one); codes are BCP-47, from the R4 languages value set.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "vi": "Tiếng Việt",
    "zh": "中文",
    "ar": "العربية",
    "fr": "Français",
    "pt": "Português",
}

# Spanish, as a Spanish-speaking clinic writes to its families: plain words, "usted".
# Carried in the Questionnaire by the FHIR translation extension, keyed by linkId or code.
SPANISH: dict[str, str] = {
    NUMBER_ONE_CONCERN: (
        "En este momento, ¿cuál es su preocupación o meta número UNO sobre su salud? Puede "
        "ser un síntoma (por ejemplo, diarrea), una preocupación para el futuro (por ejemplo, "
        "necesitar una operación, lo que cuesta la atención) o cómo su condición puede afectar "
        "algo que viene pronto en su vida (por ejemplo, una boda, un viaje). O puede decirnos "
        "que no tiene preocupaciones ni metas en este momento."
    ),
    NO_CURRENT_CONCERN: "No tengo preocupaciones ni metas en este momento",
    OTHER_CONCERNS: "¿Hay algo más de lo que le gustaría hablar?",
    PARTNERING_STYLE: "¿Cómo le gusta participar en el cuidado de su salud?",
    LEARNING_PREFERENCES: "¿Cómo le gusta aprender sobre su salud?",
    LANGUAGE: "¿En qué idioma le gustaría hablar sobre su cuidado?",
    RESPONDENT: "¿Quién contesta estas preguntas?",
    RESPONDENT_NAME: "Si contesta otra persona: su nombre y su relación con el paciente",
    SHARE_WITH_FAMILY: (
        "¿Puede su familia ver estas respuestas? (No: solo su equipo de salud las ve)"
    ),
    "team-decides": "Prefiero que mi equipo de salud decida",
    "team-recommends": "Me gusta oír lo que recomienda mi equipo de salud y luego dar mi acuerdo",
    "talk-options": "Me gusta hablar de las opciones y decidir juntos",
    "bring-questions": "Traigo mis preguntas y preocupaciones, y decidimos juntos",
    "research-and-bring-ideas": "Busco información, traigo ideas y decidimos juntos",
    "talk-it-through": "Que me lo expliquen hablando",
    "written": "Que me den algo por escrito",
    "pictures-or-video": "Que me muestren dibujos o videos",
    "read-myself": "Leer sobre el tema por mi cuenta",
    "patient": "El paciente",
    "parent": "La mamá, el papá o el tutor",
    "other": "Otra persona",
}
TRANSLATIONS = {"es": SPANISH}

# A parent, or someone else answering for the patient, is asked about the patient's health,
# not their own: the same items (the same linkIds and answers), worded for them with the
# patient's given name. Flip's form asks them so; the published Questionnaire keeps the
# patient's words.
FAMILY_WORDS: dict[str, dict[str, str]] = {
    "en": {
        NUMBER_ONE_CONCERN: (
            "Currently, what is your number ONE concern or goal related to {name}'s health? "
            "This could be related to a specific symptom (e.g., diarrhea), worry for the "
            "future (e.g., need for surgery, cost of care) or how {name}'s condition might "
            "impact an upcoming life event (e.g., wedding, travel). Or you can report that you "
            "have no current concerns or goals."
        ),
        PARTNERING_STYLE: "How do you like to partner in {name}'s health care?",
        LEARNING_PREFERENCES: "How do you like to learn about {name}'s health?",
        LANGUAGE: "In what language would you like to talk with {name}'s care team?",
        RESPONDENT_NAME: "Your name, and who you are to {name} (for example: Rose, grandmother)",
    },
    "es": {
        NUMBER_ONE_CONCERN: (
            "En este momento, ¿cuál es su preocupación o meta número UNO sobre la salud de "
            "{name}? Puede ser un síntoma (por ejemplo, diarrea), una preocupación para el "
            "futuro (por ejemplo, necesitar una operación, lo que cuesta la atención) o cómo "
            "la condición de {name} puede afectar algo que viene pronto en su vida (por "
            "ejemplo, una boda, un viaje). O puede decirnos que no tiene preocupaciones ni "
            "metas en este momento."
        ),
        PARTNERING_STYLE: "¿Cómo le gusta participar en el cuidado de la salud de {name}?",
        LEARNING_PREFERENCES: "¿Cómo le gusta aprender sobre la salud de {name}?",
        LANGUAGE: "¿En qué idioma le gustaría hablar con el equipo de salud de {name}?",
        RESPONDENT_NAME: "Su nombre y su relación con {name} (por ejemplo: Rosa, abuela)",
    },
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
            _question(NUMBER_ONE_CONCERN, NUMBER_ONE_CONCERN_TEXT, "text"),
            _question(NO_CURRENT_CONCERN, "I have no current concerns or goals", "boolean"),
            _question(
                OTHER_CONCERNS,
                "Anything else you would like to talk about?",
                "text",
                repeats=True,
            ),
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
                **_question(
                    LANGUAGE,
                    "In what language would you like to talk about your care?",
                    "choice",
                ),
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
                # Someone the chart does not name (a grandparent, a foster parent): who they
                # are, so the care team can greet them by name.
                **_question(
                    RESPONDENT_NAME,
                    "If someone else is answering: your name, and who you are to the patient",
                    "string",
                ),
                "enableWhen": [
                    {
                        "question": RESPONDENT,
                        "operator": "=",
                        "answerCoding": {"system": codes.respondent_system(base), "code": "other"},
                    }
                ],
                "maxLength": MAX_NAME_CHARS,
            },
            {
                **_question(
                    SHARE_WITH_FAMILY,
                    "May your family see these answers? (No: only your care team sees them)",
                    "boolean",
                ),
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


def _question(link_id: str, text: str, kind: str, *, repeats: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": link_id,
        "text": text,
        "_text": _translations(link_id),
        "type": kind,
    }
    if repeats:
        item["repeats"] = True
    return item


def _translations(key: str) -> dict[str, Any]:
    # The R4 translation extension on a string's primitive element
    # (https://hl7.org/fhir/R4/extension-translation.html): one per language.
    return {
        "extension": [
            {
                "url": codes.TRANSLATION_EXTENSION,
                "extension": [
                    {"url": "lang", "valueCode": lang},
                    {"url": "content", "valueString": words[key]},
                ],
            }
            for lang, words in TRANSLATIONS.items()
        ]
    }


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
        **_question(link_id, text, "choice", repeats=repeats),
        "extension": [
            {
                "url": codes.ITEM_CONTROL_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": codes.ITEM_CONTROL_SYSTEM, "code": control}]
                },
            }
        ],
        "answerOption": [
            {
                "valueCoding": {
                    "system": system,
                    "code": code,
                    "display": display,
                    "_display": _translations(code),
                }
            }
            for code, display in concepts.items()
        ],
    }
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
