"""The posted form -> FormAnswers, or what is missing or too long, in the person's words.

Field names are the Questionnaire's linkIds. Text is kept exactly as typed (trimmed): Flip
shows the person's own words, and templates escape them. Codes not offered by the form
are dropped: a crafted post cannot put an unknown code in the chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from fhir_mappings import questionnaire as q
from fhir_mappings.previsit_form import (
    MAX_CONCERN_CHARS,
    MAX_OTHER_CONCERNS,
    FormAnswers,
    FormItem,
)

Posted = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class Asked:
    """Which questions this person is asked, from who signed in."""

    respondent: str | None  # set by the sign-in (a parent), else None: asked
    sharing: bool  # only a patient decides whether their family sees the answers
    sharing_required: bool  # a teen (12-17) chooses; nothing is preselected


def parse_answers(
    posted: Posted, items: Mapping[str, FormItem], asked: Asked
) -> tuple[FormAnswers, dict[str, str]]:
    """The answers as posted, and an error message per linkId that needs fixing."""
    errors: dict[str, str] = {}
    concern = _first(posted, q.NUMBER_ONE_CONCERN).strip() or None
    no_concern = _first(posted, q.NO_CURRENT_CONCERN) == "true"
    none_words = items[q.NO_CURRENT_CONCERN].text
    if concern is None and not no_concern:
        errors[q.NUMBER_ONE_CONCERN] = _(
            "Write your number one concern or goal, or choose “%(none)s”.", none=none_words
        )
    elif concern is not None and no_concern:
        errors[q.NUMBER_ONE_CONCERN] = _(
            "Write a concern or choose “%(none)s”, not both.", none=none_words
        )
    elif concern is not None and len(concern) > MAX_CONCERN_CHARS:
        errors[q.NUMBER_ONE_CONCERN] = _too_long(concern)
    others = tuple(o.strip() for o in posted.get(q.OTHER_CONCERNS, ()) if o.strip())
    if len(others) > MAX_OTHER_CONCERNS:
        errors[q.OTHER_CONCERNS] = _(
            "You can list up to %(count)s other concerns.", count=MAX_OTHER_CONCERNS
        )
    elif too_long := next((o for o in others if len(o) > MAX_CONCERN_CHARS), None):
        errors[q.OTHER_CONCERNS] = _too_long(too_long)
    share: bool | None = None
    if asked.sharing:
        posted_share = _first(posted, q.SHARE_WITH_FAMILY)
        share = {"yes": True, "no": False}.get(posted_share)
        if share is None and asked.sharing_required:
            errors[q.SHARE_WITH_FAMILY] = _("Choose whether your family may see these answers.")
        elif share is None:
            share = True  # the Questionnaire's initial answer, preselected for an adult
    # Someone the chart does not name (the tablet's "someone else"): who they are, if given.
    name = _first(posted, q.RESPONDENT_NAME).strip() if asked.respondent == "other" else ""
    if len(name) > q.MAX_NAME_CHARS:
        errors[q.RESPONDENT_NAME] = _too_long(name, q.MAX_NAME_CHARS)
    answers = FormAnswers(
        number_one_concern=concern,
        no_current_concern=no_concern and concern is None,
        other_concerns=others,
        partnering_style=_offered(_first(posted, q.PARTNERING_STYLE), items[q.PARTNERING_STYLE]),
        learning_preferences=tuple(
            code
            for code in dict.fromkeys(posted.get(q.LEARNING_PREFERENCES, ()))
            if _offered(code, items[q.LEARNING_PREFERENCES])
        ),
        language=_offered(_first(posted, q.LANGUAGE), items[q.LANGUAGE]),
        respondent=asked.respondent
        or _offered(_first(posted, q.RESPONDENT), items[q.RESPONDENT])
        or "patient",
        respondent_name=name or None,
        share_with_family=share,
    )
    return answers, errors


def _too_long(text: str, limit: int = MAX_CONCERN_CHARS) -> str:
    return str(
        _(
            "Please shorten it to %(limit)s characters or fewer (it has %(length)s).",
            limit=limit,
            length=len(text),
        )
    )


def _first(posted: Posted, name: str) -> str:
    values = posted.get(name) or ()
    return values[0] if values else ""


def _offered(code: str, item: FormItem) -> str | None:
    return code if any(option.code == code for option in item.options) else None
