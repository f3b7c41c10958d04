"""The clinic-start spike with tiny numbers: it runs under gunicorn and reports every field."""

from __future__ import annotations

import time
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import chart
from benchmarks.spike import SpikeResult, measure_spike, serve_under_gunicorn, timed_launch


def test_spike_launches_every_patient_without_errors_or_cross_talk(tmp_path: Path) -> None:
    patients = chart.clinic_patients(3)
    with serve_under_gunicorn(tmp_path) as deployment:
        deployment.seed(patients, datetime.now(UTC))
        result = measure_spike(deployment, patients, idle_launches=2, window_s=1.0, warm_up=1)
        # The check can fail: the first patient's page, claimed for the second, is cross-talk.
        swapped = timed_launch(
            deployment.create_launch(patients[0]),
            patients[1],
            [patients[0], patients[2]],
            time.monotonic() + 30,
        )

    assert isinstance(result, SpikeResult)
    assert (result.errors, result.cross_talk, result.error_messages) == (0, 0, ())
    assert (result.latency_ms, result.workers) == (50, 2)
    assert (result.idle_launches, result.launches, result.window_s) == (2, 3, 1.0)
    # Three starts spread over one second: the last starts 2/3 s after the first.
    assert 0.5 <= result.window_used_s <= result.span_s
    # The injected latency is really there: the visit's batch waits at least 50 ms.
    assert result.idle_fhir_wait_ms >= 50
    assert result.spike_fhir_wait_ms >= 50
    assert 0 < result.idle_median_ms <= result.idle_p95_ms
    assert 0 < result.spike_median_ms <= result.spike_p95_ms
    assert result.p95_ratio == result.spike_p95_ms / result.idle_p95_ms
    assert all(getattr(result, f.name) is not None for f in fields(result))
    assert swapped.error is None
    assert swapped.cross_talk
