"""A launch's kept chart read: the latest read replaces the last, however they race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flask import Flask

from smart_app.core.migrate import upgrade
from smart_app.core.registry import service
from smart_app.core.vault import Vault
from smart_app.visit.chart_reads import ANY_AGE, ChartReads, KeptRead
from tests.app.conftest import MakeApp


def read_of(concern: str) -> KeptRead:
    answer = {"resourceType": "QuestionnaireResponse", "id": concern}
    return KeptRead({"responses": [answer]}, (), datetime.now(UTC))


def concern_kept(reads: ChartReads, launch_id: str) -> str:
    kept = reads.last(launch_id, younger_than=ANY_AGE)
    assert kept is not None
    return str(kept.results["responses"][0]["id"])


def test_a_refreshed_read_replaces_the_kept_one(make_app: MakeApp, database_url: str) -> None:
    upgrade(database_url)
    with make_app(database_url=database_url).app_context():
        reads = ChartReads(service(Vault))
        reads.keep("launch-1", read_of("first"))
        reads.keep("launch-1", read_of("refreshed"))
        reads.keep("launch-2", read_of("another launch"))
        assert concern_kept(reads, "launch-1") == "refreshed"
        assert concern_kept(reads, "launch-2") == "another launch"
        assert reads.last("launch-1", younger_than=timedelta(0)) is None  # too old for that


def test_reads_of_one_launch_kept_at_once_all_succeed(make_app: MakeApp, database_url: str) -> None:
    # The page and an agenda action of one launch may both read the chart at once: neither
    # may fail on the other's row, and one of them is kept whole.
    upgrade(database_url)
    app = make_app(database_url=database_url)

    def keep(concern: str, flask_app: Flask = app) -> None:
        with flask_app.app_context():
            ChartReads(service(Vault)).keep("launch-1", read_of(concern))

    names = [f"read {n}" for n in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(keep, names))  # re-raises any failure
    with app.app_context():
        assert concern_kept(ChartReads(service(Vault)), "launch-1") in names
