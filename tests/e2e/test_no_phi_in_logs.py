"""Flip's logs, its access log and its tracebacks carry no PHI, no tokens, no launch id
and no authorization code, even when things go wrong."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import launch
from tests.e2e.deployment import Deployment
from tests.e2e.test_launch_failures import issued_tokens

FLIP_LOGGERS = ("smart_app", "launch", "fhir_mappings")
# Flip's routes in the access log; the sandbox (the EHR, logging in the same process) has
# its own, which are the EHR's business.
FLIP_REQUEST_LINE = re.compile(r'"(GET|POST|PUT) /(l/|launch|callback|static|metrics|health)')


def flip_logged(caplog: pytest.LogCaptureFixture) -> str:
    """What Flip's process logs, as a log file would hold it, tracebacks included: its own
    loggers, its HTTP client's warnings, and its access log."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [
        formatter.format(record)
        for record in caplog.records
        if record.name.startswith(FLIP_LOGGERS)
        or (record.name.startswith("urllib3") and record.levelno >= logging.WARNING)
        or (record.name == "werkzeug" and FLIP_REQUEST_LINE.search(record.getMessage()))
    ]
    return "\n".join(lines)


def test_a_visit_with_errors_logs_no_names_words_tokens_or_launch_ids(
    family_visit: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The access log at INFO, whatever an earlier test set it to (the bench quiets it).
    caplog.set_level(logging.INFO, logger="werkzeug")
    visit = launch(family_visit)
    visit.send("POST", "/visit/agenda/items", {"text": "Vaping at parties"})
    visit.send("PUT", "/visit/agenda", {"statuses": {"x": {"status": "deferred"}}})  # refused
    family_visit.fault(status=503, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    down = visit.browser.get(visit.page.url)  # the last read, saying the EHR is down
    assert down.status_code == 200 and "data-chart-unavailable" in down.text
    logged = flip_logged(caplog)
    flip_port = f":{urlsplit(family_visit.flip_url).port}"
    assert "GET /l/<launch>/visit" in logged, "Flip's access log is read too"
    for secret in ("Maya", "Jones", "Dana", "Lacrosse", "weight gain", "Vaping", "p1", "rp-mom"):
        assert secret not in logged
    for token in issued_tokens(family_visit):
        assert token not in logged
    launch_id = re.search(r"/l/([^/]+)/", visit.page.url)
    assert launch_id and launch_id.group(1) not in logged
    codes = [
        parse_qs(urlsplit(r.headers["Location"]).query).get("code", [""])[0]
        for r in visit.browser.seen
        if flip_port in r.headers.get("Location", "") and "code=" in r.headers["Location"]
    ]
    assert codes and all(code not in logged for code in codes)
