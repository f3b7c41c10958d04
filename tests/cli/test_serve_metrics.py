"""`flip serve` under real gunicorn: /metrics counts the requests of every worker."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from smart_app.core.migrate import upgrade

REQUESTS = 60


@dataclass
class Served:
    """A running `flip serve` and what it printed."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def metrics_dir(self) -> Path:
        found = re.search(r"collected in (\S+)", self.log.read_text())
        assert found, self.log.read_text()
        return Path(found.group(1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """`flip serve --workers 2` in production mode on a loopback port."""
    upgrade(database_url)
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "FLIP_ENV": "production",
        "FLIP_SECRET_KEY": "metrics-test-secret",
        "FLIP_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "FLIP_DATABASE_URL": database_url,
        "FLIP_OUTBOX_WORKER": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "flip_cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_both_workers_booted(served: Served) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(re.findall(r"Booting worker with pid", served.log.read_text())) >= 2:
            return
        assert served.process.poll() is None, served.log.read_text()
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not boot two workers: {served.log.read_text()}")


def healthz_count(metrics: str) -> float:
    """The total of flip_http_requests_total for /healthz answered 200, across workers."""
    pattern = r'^flip_http_requests_total\{endpoint="health\.healthz",status="200"\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, metrics, re.MULTILINE))


def test_metrics_under_gunicorn_count_the_requests_of_every_worker(served: Served) -> None:
    wait_until_both_workers_booted(served)

    def get(_: int) -> int:
        return requests.get(f"{served.url}/healthz", timeout=10).status_code

    def worker_files() -> set[str]:
        return {path.name.split("_")[-1] for path in served.metrics_dir().glob("counter_*.db")}

    # Many at once: two sync workers each take one request at a time, so both answer. On a
    # busy machine one worker may still win every accept of a round: send another, up to 10.
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(10):
            assert set(pool.map(get, range(REQUESTS))) == {200}
            sent += REQUESTS
            if len(worker_files()) >= 2:
                break
    assert len(worker_files()) >= 2, worker_files()  # both workers answered some
    for _ in range(4):  # whichever worker answers /metrics, it tells the whole server's
        metrics = requests.get(f"{served.url}/metrics", timeout=10)
        assert metrics.status_code == 200
        assert healthz_count(metrics.text) == sent


def test_the_metrics_directory_is_fresh_per_start_and_removed_on_stop(served: Served) -> None:
    wait_until_both_workers_booted(served)
    folder = served.metrics_dir()
    assert folder.is_dir()
    assert requests.get(f"{served.url}/healthz", timeout=10).status_code == 200
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=30)
    assert not folder.exists()
