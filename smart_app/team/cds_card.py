"""The CDS Hooks card of one patient's pre-visit answers (pure).

A card (https://cds-hooks.hl7.org/2.0/#card-attributes) has a plain-text `summary` under
140 characters and a Markdown `detail`. Every word that comes from the chart (the
patient's and family's answers, their names) is escaped for Markdown, so that an EHR
that renders the detail shows them as written, never as links, images or HTML. An
answer kept for the care team only (a teen's, labelled `R`) is never quoted: the card
says there is one, and Flip (after a SMART launch, where the role is known) shows it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import tzinfo

from fhir_mappings.narrative import when_text
from fhir_mappings.previsit_summary import PrevisitSummary, preview, summarize
from fhir_mappings.visit_model import PreVisitAnswers

SUMMARY_MAX_CHARS = 139  # "SHOULD be <140 characters"
CONCERN_PREFIX = "Number one concern: "
NO_ANSWERS = "No pre-visit answers yet: ask about their number one concern"
NO_CONCERN = "No current concern, they said in their pre-visit answers"
CARE_TEAM_ONLY = "A pre-visit answer is for the care team only: open Flip to read it"
# Markdown's inline specials (CommonMark 2.4, backslash escapes). Chart words are always
# placed mid-line after a label and on one line, so the block-level markers (`#`, `-`,
# `+`, `1.`) that only act at the start of a line cannot act, and stay readable.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>!|~&])")


def card(
    answers: tuple[PreVisitAnswers, ...],
    *,
    clinic_language: str,
    zone: tzinfo,
    launch_url: str,
    card_id: str,
) -> dict[str, object]:
    """The one card of a patient-view: their number one concern, or that there is none yet."""
    shared = tuple(a for a in answers if a.share_with_family)
    everyone = summarize(answers, clinic_language)
    words = summarize(shared, clinic_language)
    # Who answered and when is not the words: every respondent is named.
    words = replace(words, answered=everyone.answered, care_team_only=everyone.care_team_only)
    return {
        "uuid": card_id,
        "summary": card_summary(words),
        "detail": card_detail(words, zone=zone),
        "indicator": "info",
        "source": {"label": "Flip"},
        "links": [{"label": "Open Flip", "url": launch_url, "type": "smart"}],
    }


def card_summary(summary: PrevisitSummary) -> str:
    """The card's one line, under 140 characters."""
    if summary.care_team_only:
        return CARE_TEAM_ONLY
    if summary.concern:
        room = SUMMARY_MAX_CHARS - len(CONCERN_PREFIX) - 1  # preview may add an ellipsis
        return f"{CONCERN_PREFIX}{preview(summary.concern, room)}"
    if summary.no_current_concern:
        return NO_CONCERN
    return NO_ANSWERS


def card_detail(summary: PrevisitSummary, *, zone: tzinfo) -> str:
    """The card's Markdown: who answered and when, the concern, partnering, languages."""
    if not summary.has_answers:
        return (
            "Nobody has sent Flip's pre-visit questions yet. Ask what matters most to them today."
        )
    lines = [
        "**Answered:** "
        + "; ".join(
            escape(a.who) + ("" if a.when is None else f", {when_text(a.when.astimezone(zone))}")
            for a in summary.answered
        )
    ]
    if summary.care_team_only:
        lines.append(
            "**For the care team only:** part of the answers is not to be shared with "
            "family; open Flip to read it."
        )
    if summary.concern:
        lines.append(
            f"**Number one concern** ({escape(summary.concern_by or '')}): "
            f"{escape(summary.concern)}"
        )
    elif summary.no_current_concern:
        lines.append("**Number one concern:** none at the moment, they said.")
    if summary.no_concern_from:
        lines.append(f"**No current concern:** {escape(', '.join(summary.no_concern_from))}")
    if summary.style:
        lines.append(f"**Partnering:** {escape(summary.style)}")
    if summary.learning:
        lines.append(f"**Learning:** {escape(summary.learning)}")
    for language in summary.languages:
        need = ", interpreter needed" if language.interpreter else ""
        lines.append(f"**Language** ({escape(language.who)}): {escape(language.name)}{need}")
    return "\n".join(f"- {line}" for line in lines)


def escape(text: str) -> str:
    """Chart words for Markdown: one line, every inline special backslash-escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(text.split()))
