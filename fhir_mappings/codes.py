"""Every code and system URL Flip reads or writes, each with where it comes from.

Standard codes (LOINC, US Core, HL7 terminology) are constants. Flip's own CodeSystems and
its identifier system live under a configurable base URL, so a site can publish them under
its own domain: they are functions of `base`. An invented code only ever lives in one of
Flip's own CodeSystems (https://hl7.org/fhir/R4/terminologies.html#4.1).
"""

from __future__ import annotations

DEFAULT_BASE = "https://flip.example.org/fhir"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# BCP-47 language tags, the system R4 uses for languages
# (https://hl7.org/fhir/R4/valueset-languages.html).
BCP47 = "urn:ietf:bcp:47"
LANGUAGES_VALUE_SET = "http://hl7.org/fhir/ValueSet/languages"

# US Core Care Experience Preference: LOINC 95541-9 "Care experience preference", category
# `care-experience-preference` of the US Core category CodeSystem, value a string
# (https://hl7.org/fhir/us/core/STU7/StructureDefinition-us-core-care-experience-preference.html).
CARE_EXPERIENCE_PREFERENCE = "95541-9"
CARE_EXPERIENCE_PREFERENCE_DISPLAY = "Care experience preference"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
CARE_EXPERIENCE_PREFERENCE_CATEGORY = "care-experience-preference"

# The partnering note's default DocumentReference.type: LOINC 11506-3 "Progress note"
# (https://loinc.org/11506-3), configurable per site because EHRs restrict note types.
PROGRESS_NOTE = "11506-3"
PROGRESS_NOTE_DISPLAY = "Progress note"
# Where CarePlan create is not supported, the agreed plan is a note of LOINC 18776-5 "Plan of
# care note" (https://loinc.org/18776-5).
PLAN_OF_CARE_NOTE = "18776-5"
PLAN_OF_CARE_NOTE_DISPLAY = "Plan of care note"

# US Core DocumentReference category `clinical-note`
# (https://hl7.org/fhir/us/core/STU7/CodeSystem-us-core-documentreference-category.html).
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
CLINICAL_NOTE = "clinical-note"

# US Core CarePlan category `assess-plan`, "Assessment and Plan of Treatment"
# (https://hl7.org/fhir/us/core/STU7/CodeSystem-careplan-category.html).
CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
ASSESS_PLAN = "assess-plan"

# v3 RoleCode: the relationship of a RelatedPerson to the patient
# (https://terminology.hl7.org/CodeSystem-v3-RoleCode.html).
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# SDC item controls, so a form filler shows radio buttons and check boxes
# (https://hl7.org/fhir/R4/extension-questionnaire-itemcontrol.html).
ITEM_CONTROL_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
# A string's words in another language (https://hl7.org/fhir/R4/extension-translation.html).
TRANSLATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/translation"
SDC_QUESTIONNAIRE_PROFILE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"

# Flip's pre-visit Questionnaire: its id and version are a public contract.
QUESTIONNAIRE_ID = "flip-previsit"
QUESTIONNAIRE_VERSION = "1.1.0"  # 1.1.0 added respondent-name

# A pre-visit QuestionnaireResponse Flip writes has an identifier in Flip's identifier system
# whose value starts with this prefix, so a retry or an amendment finds the same one.
PREVISIT_PREFIX = "previsit/"

# Security labels: `R` (restricted) keeps a resource from anyone outside the care team,
# here a teen's answers from their parent (https://hl7.org/fhir/R4/security-labels.html,
# https://terminology.hl7.org/CodeSystem-v3-Confidentiality.html).
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = "R"
RESTRICTED_LABEL = {"system": CONFIDENTIALITY, "code": RESTRICTED, "display": "restricted"}

# A partnering note is a DocumentReference with an identifier in Flip's identifier system
# whose value starts with this prefix (see preference.py for the rule and why).
PARTNERING_NOTE_PREFIX = "partnering-note/"
PLAN_NOTE_PREFIX = "plan-note/"
# The Care Experience Preference Flip writes beside a partnering note, for other apps.
PREFERENCE_PREFIX = "preference/"


def questionnaire_url(base: str = DEFAULT_BASE) -> str:
    """The canonical URL of Flip's pre-visit Questionnaire under `base`."""
    return f"{_root(base)}/Questionnaire/{QUESTIONNAIRE_ID}"


def partnering_style_system(base: str = DEFAULT_BASE) -> str:
    """Flip's CodeSystem of partnering styles (invented codes, so Flip's own URL)."""
    return f"{_root(base)}/CodeSystem/partnering-style"


def learning_preference_system(base: str = DEFAULT_BASE) -> str:
    """Flip's CodeSystem of ways a person likes to learn."""
    return f"{_root(base)}/CodeSystem/learning-preference"


def respondent_system(base: str = DEFAULT_BASE) -> str:
    """Flip's CodeSystem of who answered the pre-visit questions."""
    return f"{_root(base)}/CodeSystem/respondent"


def identifier_system(base: str = DEFAULT_BASE) -> str:
    """The identifier system of every resource Flip writes (plans, goals, notes)."""
    return f"{_root(base)}/identifier"


def _root(base: str) -> str:
    return base.rstrip("/")


# Provenance.agent.type: "author" is in HL7's participant-type CodeSystem; "transmitter" (the
# app that sent the data) only in US Core's
# (https://hl7.org/fhir/us/core/STU7/ValueSet-us-core-provenance-participant-type.html).
PROVENANCE_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
PROVENANCE_AUTHOR = "author"
US_CORE_PROVENANCE_PARTICIPANT_TYPE = (
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-provenance-participant-type"
)
PROVENANCE_TRANSMITTER = "transmitter"
