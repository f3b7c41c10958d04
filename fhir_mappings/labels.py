"""Security labels that travel with the words they protect.

A teen's care-team-only words, copied into a resource Flip writes (a CarePlan's narrative,
a note), give that resource the same `v3-Confidentiality|R` label, so a portal that
honours it never shows them to the parent (https://hl7.org/fhir/R4/security-labels.html).
"""

from __future__ import annotations

import base64
import binascii
import html
from typing import Any


def carries_words(resource: dict[str, Any], words: tuple[str, ...]) -> bool:
    """True when any of `words` appears in what a reader of `resource` could see."""
    return bool(words) and any(w in text for text in _texts(resource) for w in words)


def _texts(value: object, key: str = "") -> list[str]:
    # Every string a reader could see: narrative unescaped, attachments decoded.
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v, key)]
    if not isinstance(value, str):
        return []
    if key == "data":
        try:
            return [base64.b64decode(value).decode("utf-8", "replace")]
        except binascii.Error:
            return [value]
    return [html.unescape(value)]
