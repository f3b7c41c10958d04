"""Flip's own logs carry no PHI and no tokens, even when things go wrong."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.conftest import launch
from tests.e2e.deployment import Deployment
from tests.e2e.test_launch_failures import issued_tokens

FLIP_LOGGERS = ("smart_app", "launch", "fhir_mappings")


def test_a_visit_with_errors_logs_no_names_words_or_tokens(
    family_visit: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    visit = launch(family_visit)
    visit.send("POST", "/visit/agenda/items", {"text": "Vaping at parties"})
    visit.send("PUT", "/visit/agenda", {"statuses": {"x": {"status": "deferred"}}})  # refused
    family_visit.fault(status=503, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    assert visit.browser.get(visit.page.url).status_code == 503
    flip_records = [r for r in caplog.records if r.name.startswith(FLIP_LOGGERS)]
    assert flip_records, "Flip logged something to check"
    logged = "\n".join(r.getMessage() for r in flip_records)
    for secret in ("Maya", "Jones", "Dana", "Lacrosse", "weight gain", "Vaping", "p1", "rp-mom"):
        assert secret not in logged
    for token in issued_tokens(family_visit):
        assert token not in logged
