"""Token refresh through Flip's server-side store, against the sandbox's real tokens."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, update

from benchmarks.browser import meta_tags
from ehr_sandbox.auth.models import IssuedToken
from smart_app.core.db import db
from smart_app.core.models import LaunchSession
from smart_app.session.launches import LaunchService
from tests.conftest import sandbox_state
from tests.e2e.deployment import Browser, Deployment, deploy

LIFETIME_S = 2


def tokens_issued(ehr: Deployment) -> int:
    with sandbox_state(ehr.sandbox.app).db.session() as session:
        return session.scalar(select(func.count()).select_from(IssuedToken)) or 0


def api_call(browser: Browser, ehr: Deployment, visit: requests.Response) -> int:
    response = browser.http.get(
        f"{ehr.flip_url}{meta_tags(visit.text)['flip-api-base']}/visit",
        headers=browser.api_headers(visit),
        timeout=30,
    )
    return response.status_code


def test_expired_token_is_refreshed_once_under_concurrent_requests(
    database_url: str, tmp_path: Path
) -> None:
    with deploy(database_url, tmp_path, access_token_lifetime_s=LIFETIME_S) as ehr:
        browser = Browser()
        visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
        assert "Maya Jones" in visit.text
        assert tokens_issued(ehr) == 1
        time.sleep(LIFETIME_S + 0.5)  # the access token is now expired
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: api_call(browser, ehr, visit), range(8)))
        assert statuses == [200] * 8
        assert tokens_issued(ehr) == 2  # one refresh, not eight


@pytest.mark.parametrize("rotate", [True, False], ids=["rotating", "not-rotating"])
def test_refreshes_keep_the_launch_alive_with_and_without_rotation(
    database_url: str, tmp_path: Path, rotate: bool
) -> None:
    settings = {"access_token_lifetime_s": LIFETIME_S, "rotate_refresh_tokens": rotate}
    with deploy(database_url, tmp_path, **settings) as ehr:
        browser = Browser()
        visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
        # Rotating: each refresh redeems the previous one's new refresh token; not
        # rotating: the first refresh token serves every refresh.
        for expected_tokens in (2, 3):
            time.sleep(LIFETIME_S + 0.2)
            assert api_call(browser, ehr, visit) == 200
            assert tokens_issued(ehr) == expected_tokens


def test_a_401_from_the_ehr_triggers_one_refresh_and_a_retry(
    database_url: str, tmp_path: Path
) -> None:
    with deploy(database_url, tmp_path) as ehr:
        browser = Browser()
        visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
        ehr.fault(status=401, count=1, path_prefix="/fhir", methods=["GET", "POST"])
        assert api_call(browser, ehr, visit) == 200
        assert tokens_issued(ehr) == 2


def test_the_token_call_is_made_with_no_database_transaction_open(
    database_url: str, tmp_path: Path
) -> None:
    """While Flip waits on the EHR's token endpoint, the launch's row stays writable: a
    slow EHR never holds a lock that stalls every other request of the launch."""
    with deploy(database_url, tmp_path, access_token_lifetime_s=LIFETIME_S) as ehr:
        browser = Browser()
        visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
        client = ehr.flip.extensions["flip_registry"][LaunchService].client
        real_refresh = client.refresh
        in_time: list[bool] = []

        def refresh_while_another_request_writes(iss: str, tokens: Any) -> Any:
            def write() -> None:
                with ehr.flip.app_context(), db.session() as session:
                    session.execute(update(LaunchSession).values(answerer=None))

            other = threading.Thread(target=write, daemon=True)
            other.start()
            other.join(timeout=5)
            in_time.append(not other.is_alive())
            return real_refresh(iss, tokens)

        client.refresh = refresh_while_another_request_writes  # type: ignore[method-assign]
        try:
            time.sleep(LIFETIME_S + 0.5)
            assert api_call(browser, ehr, visit) == 200
        finally:
            client.refresh = real_refresh  # type: ignore[method-assign]
        assert in_time == [True]  # the other write went through during the token call
