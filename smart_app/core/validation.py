"""The request-validation error every capability raises when a request body can't be used."""

from __future__ import annotations


class InvalidRequest(ValueError):
    """The request body cannot be used; the message says what to fix."""
