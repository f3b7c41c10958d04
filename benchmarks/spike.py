"""The clinic-start spike: 40 clinicians launching Flip within 10 s, each at their own patient.

Flip runs as `flip serve` runs it in production (gunicorn, 2 sync workers, a SQLite file
both workers share), the sandbox EHR in its own process at 50 ms latency. The spike's
p95 launch-to-agenda is set against the idle p95 of the same run, so a slow machine moves
both. Every visit page must show its own patient's name and number one concern and no
other seeded patient's: a page of the wrong patient counts as cross-talk. The load stays
on loopback and is bounded: so many launches, each request with a timeout, one deadline.

`python -m benchmarks.spike` runs it on its own and prints the result.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from benchmarks import chart
from benchmarks.browser import Browser, ChromiumLikeSession, scrape_fhir_metrics
from benchmarks.chart import CLINIC_AGENDA_ITEMS, ClinicPatient, clinic_chart
from benchmarks.measure import median_ms, p95_ms

# Private to servers.py, shared on purpose: the spike's sandbox is deploy()'s sandbox.
from benchmarks.servers import (
    FLIP_CLIENT_ID,
    HOST,
    _Client,
    _SandboxPlan,
    _SandboxProcess,
    prepare_flip,
)

LATENCY_MS = 50
WORKERS = 2
SPIKE_LAUNCHES = 40
IDLE_LAUNCHES = 20
WARM_UP_LAUNCHES = 4
WINDOW_S = 10.0
TARGET_RATIO = 1.5  # spike p95 / idle p95, at most
REQUEST_TIMEOUT_S = 20.0
DEADLINE_S = 90.0  # the whole measurement, warm-up to the last spike launch
START_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class GunicornDeployment:
    """The sandbox (its own process) and Flip under `flip serve` (a gunicorn subprocess)."""

    sandbox_url: str
    flip_url: str
    workers: int
    log: Path  # gunicorn's and Flip's output

    def set_latency(self, latency_ms: int) -> None:
        """Delay every FHIR and token request by `latency_ms` (as Deployment.set_latency)."""
        faults = f"{self.sandbox_url}/_sandbox/faults"
        requests.delete(faults, timeout=10).raise_for_status()
        for prefix in ("/fhir", "/auth/token") if latency_ms else ():
            fault = {"latency_ms": latency_ms, "count": None, "path_prefix": prefix}
            requests.post(faults, json=fault, timeout=10).raise_for_status()

    def seed(self, patients: Sequence[ClinicPatient], now: datetime) -> None:
        """Write every patient's chart in one transaction through the open FHIR base."""
        resources = [r for p in patients for r in clinic_chart(p, now)]
        entries = [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        answer = requests.post(f"{self.sandbox_url}/open/fhir", json=bundle, timeout=120)
        if answer.status_code != 200:
            raise RuntimeError(f"seeding failed: {answer.status_code} {answer.text[:500]}")

    def create_launch(self, patient: ClinicPatient) -> str:
        """The launch URL of an EHR launch, as the chart makes one when Flip is clicked."""
        body = {
            "patient": patient.patient,
            "encounter": patient.encounter,
            "practitioner": patient.practitioner,
        }
        answer = requests.post(f"{self.sandbox_url}/_sandbox/launches", json=body, timeout=10)
        if answer.status_code != 201:
            raise RuntimeError(f"launch creation failed: {answer.status_code} {answer.text}")
        url: str = answer.json()["launch_url"]
        return url


def _flip_environment(folder: Path, sandbox_url: str, flip_url: str) -> dict[str, str]:
    registrations, database_url = prepare_flip(folder, sandbox_url)
    environment = {
        **os.environ,
        # Production, as deployed: it needs only its secrets, and serves loopback http.
        "FLIP_ENV": "production",
        "FLIP_SECRET_KEY": Fernet.generate_key().decode(),
        "FLIP_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "FLIP_DATABASE_URL": database_url,
        "FLIP_PUBLIC_URL": flip_url,
        "FLIP_REGISTRATIONS_FILE": str(registrations),
        # Every launch comes from 127.0.0.1: a real deployment's per-address limit would
        # answer 429 (tests/app/test_rate_limits.py), and the spike would measure that.
        "FLIP_LAUNCH_RATE_LIMIT": "100000 per minute",
        # Nothing is written back during a launch; the worker would only poll the database.
        "FLIP_OUTBOX_WORKER": "false",
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)  # `flip serve` makes a fresh one
    return environment


def _wait_for_workers(process: subprocess.Popen[bytes], log: Path, url: str, workers: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"flip serve exited ({process.returncode}): {log.read_text()}")
        booted = len(re.findall(r"Booting worker with pid", log.read_text()))
        if booted >= workers:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"flip serve did not start {workers} workers: {log.read_text()}")


@contextmanager
def serve_under_gunicorn(folder: Path, *, workers: int = WORKERS) -> Iterator[GunicornDeployment]:
    """Start the sandbox and `flip serve --workers N` on loopback; stop both at the end."""
    with socket.socket() as probe:  # a free port, for gunicorn to bind in a moment
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    flip_url = f"http://{HOST}:{port}"
    sandbox = _SandboxProcess(
        _SandboxPlan(
            database_url=f"sqlite:///{folder / 'sandbox.sqlite3'}",
            app_launch_url=f"{flip_url}/launch",
            cds_services_url=f"{flip_url}/cds-services",
            clients=(_Client(FLIP_CLIENT_ID, "Flip", f"{flip_url}/callback"),),
        )
    )
    process: subprocess.Popen[bytes] | None = None
    try:
        sandbox_url = sandbox.url()
        environment = _flip_environment(folder, sandbox_url, flip_url)
        log = folder / "flip-serve.log"
        command = [sys.executable, "-m", "flip_cli", "serve", "--host", HOST, "--port", str(port)]
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
                [*command, "--workers", str(workers)],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        _wait_for_workers(process, log, flip_url, workers)
        yield GunicornDeployment(sandbox_url, flip_url, workers, log)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        sandbox.stop()


class _BoundedSession(ChromiumLikeSession):
    """A browser session whose every request ends by its timeout and by the deadline."""

    def __init__(self, *, timeout_s: float, deadline: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.deadline = deadline

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        """Send as requests does, with a timeout no later than the deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the spike's deadline passed")
        kwargs["timeout"] = min(self.timeout_s, remaining)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class LaunchOutcome:
    """One timed launch: when it started, how long it took, what was wrong with it."""

    started: float
    seconds: float
    error: str | None = None
    cross_talk: bool = False


def timed_launch(
    launch_url: str, patient: ClinicPatient, others: Sequence[ClinicPatient], deadline: float
) -> LaunchOutcome:
    """One clinician's browser opens the launch; its page must show `patient`, no other."""
    browser = Browser(http=_BoundedSession(timeout_s=REQUEST_TIMEOUT_S, deadline=deadline))
    started = time.perf_counter()
    try:
        page = browser.launch(launch_url)
    except Exception as exc:  # every failure counts as an error; none stops the spike
        return LaunchOutcome(started, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if page.status_code != 200:
        return LaunchOutcome(started, seconds, f"HTTP {page.status_code}: {page.text[:200]}")
    if page.text.count("data-agenda-item") < CLINIC_AGENDA_ITEMS:
        return LaunchOutcome(started, seconds, f"no agenda on {page.url}: {page.text[:200]}")
    own = patient.name in page.text and patient.concern in page.text
    foreign = any(o.name in page.text or o.concern in page.text for o in others)
    return LaunchOutcome(started, seconds, cross_talk=foreign or not own)


@dataclass(frozen=True, slots=True)
class SpikeResult:
    """The spike against the idle launches of the same run, and what went wrong."""

    latency_ms: int
    workers: int
    idle_launches: int
    idle_median_ms: float
    idle_p95_ms: float
    launches: int  # in the spike, one per clinician and patient
    window_s: float  # the planned window the spike's launches start in
    window_used_s: float  # first start to last start, as measured
    span_s: float  # first start to the last agenda (or failure)
    spike_median_ms: float
    spike_p95_ms: float
    p95_ratio: float  # spike p95 / idle p95
    errors: int  # idle and spike: non-200, no agenda, exception, timeout, deadline
    cross_talk: int  # idle and spike: a visit page missing its patient or showing another
    idle_fhir_wait_ms: float  # Flip's mean wait on the EHR per idle launch (/metrics)
    spike_fhir_wait_ms: float  # the same per spike launch
    error_messages: tuple[str, ...]  # the first few, for diagnosis

    @property
    def met(self) -> bool:
        """True when the spike meets its target: ratio, no errors, no cross-talk."""
        return self.p95_ratio <= TARGET_RATIO and self.errors == 0 and self.cross_talk == 0


def measure_spike(
    deployment: GunicornDeployment,
    patients: Sequence[ClinicPatient],
    *,
    idle_launches: int = IDLE_LAUNCHES,
    window_s: float = WINDOW_S,
    latency_ms: int = LATENCY_MS,
    warm_up: int = WARM_UP_LAUNCHES,
) -> SpikeResult:
    """Idle launches one at a time, then one launch per patient started within `window_s`."""
    deadline = time.monotonic() + DEADLINE_S
    deployment.set_latency(latency_ms)

    def launch(patient: ClinicPatient, url: str | None = None) -> LaunchOutcome:
        others = [o for o in patients if o is not patient]
        return timed_launch(url or deployment.create_launch(patient), patient, others, deadline)

    # Untimed: every worker fills its caches (SMART discovery, CapabilityStatement) first.
    for number in range(warm_up):
        if (failed := launch(patients[number % len(patients)])).error:
            raise RuntimeError(f"warm-up launch failed: {failed.error}; see {deployment.log}")
    idle, idle_wait_ms = _with_fhir_wait(
        deployment, lambda: [launch(patients[n % len(patients)]) for n in range(idle_launches)]
    )
    # The EHR's launches are made first, so the starts keep to their schedule.
    urls = [deployment.create_launch(p) for p in patients]
    spike, spike_wait_ms = _with_fhir_wait(
        deployment, lambda: _spike(lambda n: launch(patients[n], urls[n]), len(urls), window_s)
    )
    failures = [o.error for o in idle + spike if o.error]
    idle_s = [o.seconds for o in idle if not o.error] or [math.nan]
    spike_s = [o.seconds for o in spike if not o.error] or [math.nan]
    starts = [o.started for o in spike]
    return SpikeResult(
        latency_ms=latency_ms,
        workers=deployment.workers,
        idle_launches=len(idle),
        idle_median_ms=median_ms(idle_s),
        idle_p95_ms=p95_ms(idle_s),
        launches=len(spike),
        window_s=window_s,
        window_used_s=max(starts) - min(starts),
        span_s=max(o.started + o.seconds for o in spike) - min(starts),
        spike_median_ms=median_ms(spike_s),
        spike_p95_ms=p95_ms(spike_s),
        p95_ratio=p95_ms(spike_s) / p95_ms(idle_s),
        errors=len(failures),
        cross_talk=sum(o.cross_talk for o in idle + spike),
        idle_fhir_wait_ms=idle_wait_ms,
        spike_fhir_wait_ms=spike_wait_ms,
        error_messages=tuple(failures[:5]),
    )


def _spike(
    launch: Callable[[int], LaunchOutcome], launches: int, window_s: float
) -> list[LaunchOutcome]:
    """Launch number n at n * window / launches from now, each in its own thread."""
    first = time.perf_counter() + 0.2
    spacing = window_s / launches

    def scheduled(number: int) -> LaunchOutcome:
        time.sleep(max(0.0, first + number * spacing - time.perf_counter()))
        return launch(number)

    pool = ThreadPoolExecutor(max_workers=launches, thread_name_prefix="clinician")
    futures = [pool.submit(scheduled, n) for n in range(launches)]
    # Every request ends by the deadline (_BoundedSession); this wait is its backstop.
    wait(futures, timeout=window_s + DEADLINE_S)
    pool.shutdown(wait=False, cancel_futures=True)
    late = LaunchOutcome(first, time.perf_counter() - first, "the deadline passed")
    return [f.result() if f.done() else late for f in futures]


def _with_fhir_wait(
    deployment: GunicornDeployment, run: Callable[[], list[LaunchOutcome]]
) -> tuple[list[LaunchOutcome], float]:
    """What `run` returns, and Flip's mean wait on the EHR per launch meanwhile, in ms."""
    before = scrape_fhir_metrics(deployment.flip_url)
    outcomes = run()
    waited = scrape_fhir_metrics(deployment.flip_url) - before
    return outcomes, 1000 * waited.wait_s / max(1, len(outcomes))


def run_spike(
    *,
    launches: int = SPIKE_LAUNCHES,
    idle_launches: int = IDLE_LAUNCHES,
    window_s: float = WINDOW_S,
    latency_ms: int = LATENCY_MS,
    warm_up: int = WARM_UP_LAUNCHES,
    folder: Path | None = None,
) -> SpikeResult:
    """Deploy (in `folder`, else a temporary one), seed `launches` patients, measure."""
    with tempfile.TemporaryDirectory(prefix="flip-spike-") as temporary:
        where = folder or Path(temporary)
        patients = chart.clinic_patients(launches)
        with serve_under_gunicorn(where) as deployment:
            deployment.seed(patients, datetime.now(UTC))
            return measure_spike(
                deployment,
                patients,
                idle_launches=idle_launches,
                window_s=window_s,
                latency_ms=latency_ms,
                warm_up=warm_up,
            )


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m benchmarks.spike`: run the spike and print its result."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spike", description=__doc__)
    parser.add_argument("--launches", type=int, default=SPIKE_LAUNCHES, help="in the spike")
    parser.add_argument("--idle", type=int, default=IDLE_LAUNCHES, help="one at a time")
    parser.add_argument("--window", type=float, default=WINDOW_S, help="seconds")
    parser.add_argument("--latency", type=int, default=LATENCY_MS, help="ms")
    parser.add_argument("--keep", type=Path, help="a folder to keep the databases and log in")
    args = parser.parse_args(argv)
    result = run_spike(
        launches=args.launches,
        idle_launches=args.idle,
        window_s=args.window,
        latency_ms=args.latency,
        folder=args.keep,
    )
    for name, value in asdict(result).items():
        print(f"{name:>20}: {round(value, 1) if isinstance(value, float) else value}")
    verdict = "PASS" if result.met else "MISS"
    print(f"{'target':>20}: {verdict} (ratio <= {TARGET_RATIO}, 0 errors, 0 cross-talk)")


if __name__ == "__main__":
    main()
