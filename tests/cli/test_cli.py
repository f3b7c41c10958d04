"""The `flip` command as an integration engineer uses it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from click.testing import CliRunner

from ehr_sandbox.auth.clients import find_client
from ehr_sandbox.db import Database
from ehr_sandbox.launch_context import find_launch
from flip_cli import main
from tests.conftest import LiveSandbox, sandbox_state


def test_register_client_writes_a_usable_registration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    result = CliRunner().invoke(
        main,
        [
            "sandbox", "register-client", "--client-id", "my-app",
            "--redirect-uri", "https://my-app.example.org/callback",
            "--client-type", "symmetric", "--client-secret", "s3cret", "--database-url", url,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Registered symmetric client my-app" in result.output
    database = Database(url)
    with database.session() as session:
        client = find_client(session, "my-app")
        assert client is not None
        assert client.redirect_uris == ["https://my-app.example.org/callback"]
    database.dispose()


def test_register_client_explains_a_bad_registration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    result = CliRunner().invoke(
        main,
        ["sandbox", "register-client", "--client-id", "x", "--redirect-uri", "https://x/cb",
         "--client-type", "symmetric", "--database-url", url],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "symmetric needs client_secret" in result.output


def test_launch_url_prints_an_ehr_launch_for_the_patient(sandbox: LiveSandbox) -> None:
    for resource in (
        {"resourceType": "Patient", "id": "p1", "name": [{"family": "Jones"}]},
        {"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "Osler"}]},
    ):
        url = f"{sandbox.open_fhir_base}/{resource['resourceType']}/{resource['id']}"
        assert requests.put(url, json=resource, timeout=5).ok
    result = CliRunner().invoke(
        main,
        ["sandbox", "launch-url", "--patient", "p1", "--practitioner", "dr1",
         "--sandbox-url", sandbox.url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    query = parse_qs(urlsplit(result.output.strip()).query)
    assert query["iss"] == [sandbox.fhir_base]
    with sandbox_state(sandbox.app).db.session() as session:
        launch = find_launch(session, query["launch"][0])
    assert launch is not None
    assert (launch.patient, launch.practitioner) == ("p1", "dr1")


def test_launch_url_without_a_patient_is_a_launch_from_the_schedule(
    sandbox: LiveSandbox,
) -> None:
    dr = {"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "Osler"}]}
    assert requests.put(f"{sandbox.open_fhir_base}/Practitioner/dr1", json=dr, timeout=5).ok
    result = CliRunner().invoke(
        main, ["sandbox", "launch-url", "--practitioner", "dr1", "--sandbox-url", sandbox.url]
    )
    assert result.exit_code == 0, result.output
    query = parse_qs(urlsplit(result.output.strip()).query)
    with sandbox_state(sandbox.app).db.session() as session:
        launch = find_launch(session, query["launch"][0])
    assert launch is not None
    assert (launch.patient, launch.practitioner) == (None, "dr1")
    neither = CliRunner().invoke(main, ["sandbox", "launch-url", "--sandbox-url", sandbox.url])
    assert neither.exit_code != 0 and "--practitioner for the clinic-day panel" in neither.output


def test_launch_url_says_when_the_sandbox_is_not_running() -> None:
    result = CliRunner().invoke(
        main, ["sandbox", "launch-url", "--patient", "p1", "--sandbox-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code != 0
    assert "not answering" in result.output


def test_demo_bundle_prints_a_transaction_for_the_given_day() -> None:
    result = CliRunner().invoke(main, ["sandbox", "demo-bundle", "--date", "2026-03-02"])
    bundle = json.loads(result.output)
    assert bundle["type"] == "transaction"
    starts = [
        e["resource"]["start"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Appointment"
    ]
    days = sorted({s[:10] for s in starts})
    assert days == ["2026-03-02", "2026-03-03"]  # the clinic day, and tomorrow's few visits
