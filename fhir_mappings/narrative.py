"""The words Flip writes to the chart: the plan's XHTML narrative and the notes' plain text.

Everything here is the person's and the clinician's own text, never paraphrased, made safe
for where it goes: XHTML-escaped in a narrative (https://hl7.org/fhir/R4/narrative.html
allows no script and needs well-formed XHTML), stripped of the control characters FHIR
strings forbid (https://hl7.org/fhir/R4/datatypes.html#string) everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape

from fhir_mappings.plan_model import AgendaOutcome, AgreedPlan, PartneringNote, PlanItem
from fhir_mappings.questionnaire import (
    LEARNING_PREFERENCES_DISPLAY,
    PARTNERING_STYLES,
    learning_preference_display,
    partnering_style_display,
)

# The partnering note's lines, as written and read back (`read_partnering_text`).
NOTE_HEADER = "Partnering note:"
STYLE_LABEL = "Partnering style: "
LEARNING_LABEL = "Likes to learn: "

XHTML = "http://www.w3.org/1999/xhtml"
SOMETHING_ELSE = "Is there something else you want to address today?"

# FHIR strings allow no character below U+0020 but tab, CR and LF; XML 1.0 (the narrative)
# also forbids lone surrogates and U+FFFE/U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(words: str) -> str:
    """`words` without the characters a FHIR string or XHTML cannot carry."""
    return _FORBIDDEN.sub("", words)


def has_words(words: str | None) -> bool:
    """True when `words` holds something other than whitespace once cleaned."""
    return words is not None and bool(clean(words).strip())


def when_text(moment: datetime) -> str:
    """A datetime as people read it in a note: date, time and zone."""
    zone = moment.tzname() or moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} {zone}".strip()


def style_words(code: str) -> str:
    """The words of a partnering-style code (the code itself when Flip does not know it)."""
    return partnering_style_display(code) or code


def learning_words(codes: tuple[str, ...]) -> str:
    """Learning-preference codes in words, joined."""
    return "; ".join(learning_preference_display(c) or c for c in codes)


def careplan_div(plan: AgreedPlan) -> str:
    """The CarePlan's generated narrative: one XHTML div, every user text escaped."""
    parts = [f"<p><b>Agreed plan</b>, visit of {_x(when_text(plan.visit_start))}</p>"]
    items = [i for i in plan.items if has_words(i.text)]
    if items:
        parts.append("<p><b>Agreed items</b></p><ul>")
        parts += [f"<li>{_x(_item_line(i))}</li>" for i in items]
        parts.append("</ul>")
    goals = [g.text for g in plan.goals if has_words(g.text)]
    if goals:
        parts.append("<p><b>Goals</b></p><ul>")
        parts += [f"<li>{_x(g)}</li>" for g in goals]
        parts.append("</ul>")
    if plan.follow_up is not None and has_words(plan.follow_up):
        parts.append(f"<p><b>Follow-up</b>: {_x(plan.follow_up)}</p>")
    outcomes = [o for o in plan.outcomes if has_words(o.text)]
    if outcomes:
        parts.append("<p><b>Agenda</b></p><ul>")
        parts += [f"<li>{_x(_outcome_line(o))}</li>" for o in outcomes]
        parts.append("</ul>")
    parts.append(f"<p>{_x(_something_else_line(plan))}</p>")
    return f'<div xmlns="{XHTML}">{"".join(parts)}</div>'


def plan_text(plan: AgreedPlan) -> str:
    """The whole agreed plan as plain text, for a Plan of care note."""
    lines = [f"Agreed plan, visit of {when_text(plan.visit_start)}"]
    items = [i for i in plan.items if has_words(i.text)]
    if items:
        lines += ["", "Agreed items:", *(f"- {_item_line(i)}" for i in items)]
    goals = [g.text for g in plan.goals if has_words(g.text)]
    if goals:
        lines += ["", "Goals:", *(f"- {clean(g)}" for g in goals)]
    if plan.follow_up is not None and has_words(plan.follow_up):
        lines += ["", f"Follow-up: {clean(plan.follow_up)}"]
    outcomes = [o for o in plan.outcomes if has_words(o.text)]
    if outcomes:
        lines += ["", "Agenda:", *(f"- {_outcome_line(o)}" for o in outcomes)]
    lines += ["", _something_else_line(plan), "", _recorded_line(plan)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class PlanNote:
    """A Plan of care note Flip wrote (`plan_text`), read back for the next visit."""

    later: tuple[str, ...]  # items agreed for later
    deferred: tuple[tuple[str, str | None], ...]  # agenda items deferred, and why
    goals: tuple[str, ...]


_OUTCOME = re.compile(r"^(?P<text>.*) \((?:patient|family|clinician)\): (?P<status>\w+)"
                      r"(?:, because (?P<reason>.*))?$")  # fmt: skip


def read_plan_text(text: str) -> PlanNote:
    """The open parts of a Plan of care note in `plan_text`'s layout: what comes back."""
    later, deferred, goals = [], [], []
    section = None
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith("- "):
            section = line
        elif line.startswith("- ") and section == "Agreed items:":
            parts = line[2:].split("; ")
            if parts[-1].startswith("by "):
                parts.pop()
            when = parts.pop() if parts[-1] in ("now", "later") else None
            if len(parts) > 1 and parts[-1].startswith("who: "):
                parts.pop()
            if when == "later":
                later.append("; ".join(parts))
        elif line.startswith("- ") and section == "Goals:":
            goals.append(line[2:])
        elif line.startswith("- ") and section == "Agenda:":
            found = _OUTCOME.match(line[2:])
            if found and found["status"] == "deferred":
                deferred.append((found["text"], found["reason"]))
    # A deferred line also agreed "to do after" ("Add to plan") is one thing to come back:
    # the deferral, with why (as in the CarePlan: plan_activities.py).
    deferred_texts = {text.casefold() for text, _ in deferred}
    later = [text for text in later if text.casefold() not in deferred_texts]
    return PlanNote(tuple(later), tuple(deferred), tuple(goals))


def partnering_text(plan: AgreedPlan, note: PartneringNote) -> str:
    """The partnering note as plain text: style and learning in words, the free text."""
    lines = [f"{NOTE_HEADER} how this person and family like to partner in their care", ""]
    if note.style:
        lines.append(f"{STYLE_LABEL}{clean(style_words(note.style))}")
    if note.learning_preferences:
        lines.append(f"{LEARNING_LABEL}{clean(learning_words(note.learning_preferences))}")
    if note.text is not None and has_words(note.text):
        lines += ["", clean(note.text)]
    lines += ["", _recorded_line(plan)]
    return "\n".join(lines) + "\n"


def read_partnering_text(text: str) -> tuple[str | None, tuple[str, ...], str | None]:
    """A partnering note Flip wrote (`partnering_text`), read back: the style and learning
    codes and the clinician's own words, without the header and the "Recorded" line.
    Another system's note is all free text."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(NOTE_HEADER):
        return None, (), text
    styles = {words: code for code, words in PARTNERING_STYLES.items()}
    learning = {words: code for code, words in LEARNING_PREFERENCES_DISPLAY.items()}
    style: str | None = None
    learns: tuple[str, ...] = ()
    free: list[str] = []
    for line in lines[1:]:
        if line.startswith(STYLE_LABEL):
            style = styles.get(line.removeprefix(STYLE_LABEL).strip())
        elif line.startswith(LEARNING_LABEL):
            words = line.removeprefix(LEARNING_LABEL).split("; ")
            learns = tuple(learning[w.strip()] for w in words if w.strip() in learning)
        elif not line.startswith("Recorded with Flip on ") and line.strip():
            free.append(line)
    return style, learns, "\n".join(free) or None


def preference_summary(note: PartneringNote) -> str:
    """The partnering note in one or two sentences, for an Observation's valueString."""
    sentences = []
    if note.style:
        sentence = f"Partnering style: {style_words(note.style)}"
        if note.learning_preferences:
            sentence += f"; likes to learn: {learning_words(note.learning_preferences)}"
        sentences.append(sentence + ".")
    if note.text is not None and has_words(note.text):
        sentences.append(note.text.strip())
    return clean(" ".join(sentences))


def _item_line(item: PlanItem) -> str:
    parts = [clean(item.text)]
    if item.owner is not None and has_words(item.owner):
        parts.append(f"who: {clean(item.owner)}")
    parts.append("now" if item.when == "now" else "later")
    if item.due is not None:
        parts.append(f"by {item.due.isoformat()}")
    return "; ".join(parts)


def _outcome_line(outcome: AgendaOutcome) -> str:
    line = f"{clean(outcome.text)} ({clean(outcome.source)}): {clean(outcome.status)}"
    if outcome.reason is not None and has_words(outcome.reason):
        line += f", because {clean(outcome.reason)}"
    return line


def _something_else_line(plan: AgreedPlan) -> str:
    if not plan.something_else_asked:
        return f'"{SOMETHING_ELSE}" was not asked.'
    added = [clean(a) for a in plan.something_else_added if has_words(a)]
    if not added:
        return f'"{SOMETHING_ELSE}" was asked; nothing was added.'
    return f'"{SOMETHING_ELSE}" was asked; added: {"; ".join(added)}.'


def _recorded_line(plan: AgreedPlan) -> str:
    return f"Recorded with Flip on {when_text(plan.finished_at)}."


def _x(words: str) -> str:
    return escape(clean(words), quote=True)
