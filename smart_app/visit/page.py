"""The visit page: what it shows of the visit, and the sections other capabilities add.

Closing the visit (the plan form) sits on the visit page but lives in `closing/`, above
`visit/`; so `visit/` knows it only as a `PageSection` the composition root hands in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from smart_app.core.vault import Vault
from smart_app.session.ehr_style import EhrStyles, inline_css
from smart_app.session.launches import OpenLaunch
from smart_app.visit.reader import VisitReader, VisitReaders
from smart_app.visit.visit import Visit


class PageSection(Protocol):
    """A part of the visit page owned by a capability above `visit/`."""

    @property
    def template(self) -> str:
        """The template included in the page; it sees the page's context."""
        ...

    def page_context(self, reader: VisitReader, visit: Visit) -> Mapping[str, Any]:
        """What the section's template needs, for this visit."""
        ...


@dataclass(frozen=True, slots=True)
class VisitPage:
    """Builds the visit page's context for one launch."""

    readers: VisitReaders
    vault: Vault
    styles: EhrStyles
    sections: tuple[PageSection, ...] = ()

    def context(self, opened: OpenLaunch) -> dict[str, Any]:
        """The visit, the page's API secret, the EHR's style, and each section's template
        and context."""
        reader = self.readers.for_launch(opened)
        visit = reader.load(fall_back=True)
        style_url = opened.context.smart_style_url
        context: dict[str, Any] = {
            "visit": visit,
            "api_token": self.vault.api_token(opened.launch_id),
            # In the page, not a stylesheet link: a link is one more request that blocks
            # the first paint of the concern. Only checked values reach it (ehr_style.py).
            "ehr_css": inline_css(
                self.styles.css(style_url, opened.context.iss) if style_url else ""
            ),
            "sections": [section.template for section in self.sections],
        }
        for section in self.sections:
            context.update(section.page_context(reader, visit))
        return context
