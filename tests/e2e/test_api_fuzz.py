"""Schemathesis against the live app: every operation of docs/openapi.yaml, fuzzed.

A real launch (sandbox EHR, Flip, the scripted browser with its cookie and the page's
X-Flip-Launch secret) answers about 100 generated requests per operation, valid and
malformed, derandomized so a run repeats: no answer is a server error, and every answer
is one the spec documents, in the shape it documents. Malformed bodies get a 4xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from benchmarks.browser import Browser, meta_tags
from smart_app.core.request_schemas import SPEC_FILE
from tests.e2e.conftest import family_chart
from tests.support.databases import postgres_url, sqlite_url

EXAMPLES = 100  # per operation: the bound, and the run stays under two minutes
SCHEMA = schemathesis.openapi.from_path(SPEC_FILE)
# The launch secret is sent as the page sends it; generating it would only test 401s.
SCHEMA.config.generation.update(with_security_parameters=False)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass(frozen=True, slots=True)
class LiveApi:
    """One launched visit's API, as its page's script calls it."""

    base_url: str
    http: requests.Session
    headers: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """Maya's visit, launched once for the whole run of one database."""
    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "postgresql":
        request.getfixturevalue("_postgres_checked")
    database = sqlite_url(folder) if request.param == "sqlite" else postgres_url()
    with database as url, family_chart(url, folder) as ehr:
        body = {"patient": "p1", "encounter": "e-agenda", "practitioner": "dr1"}
        answer = requests.post(f"{ehr.sandbox.url}/_sandbox/launches", json=body, timeout=10)
        browser = Browser()  # sends its cookie back, as Chromium does on loopback
        page = browser.launch(answer.json()["launch_url"])
        assert page.status_code == 200, page.text
        assert browser.http.cookies, "the launch's browser cookie is what binds it"
        base_url = f"{ehr.flip_url}{meta_tags(page.text)['flip-api-base']}"
        yield LiveApi(base_url, browser.http, browser.api_headers(page))


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_and_never_fails(
    case: schemathesis.Case, live_api: LiveApi
) -> None:
    case.call_and_validate(
        base_url=live_api.base_url,
        session=live_api.http,
        headers=live_api.headers,
        checks=CHECKS,
        timeout=30,
    )
