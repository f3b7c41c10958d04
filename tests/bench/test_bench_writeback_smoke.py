"""The write-back measure end to end with one finish: it runs and reports every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.measure import seed_visit
from benchmarks.servers import deploy
from benchmarks.writeback import WORKER_CONFIG, measure_writeback


@pytest.mark.browser
def test_measure_writeback_times_finish_to_saved_and_the_direct_writes(tmp_path: Path) -> None:
    # Its own Chromium, closed on return, as in test_bench_chromium_smoke.py.
    with deploy(tmp_path, flip_config=WORKER_CONFIG) as ehr:
        seed_visit(ehr)
        result = measure_writeback(ehr, 0, 1)

    assert result.latency_ms == 0
    assert result.finishes == 1
    assert result.felt_median_ms > 0
    assert result.felt_p95_ms >= result.felt_median_ms
    assert result.direct_median_ms > 0
    assert result.ratio == pytest.approx(result.felt_median_ms / result.direct_median_ms)
    # The sandbox takes transactions: the plan, then its Provenances.
    assert dict(result.flip_interactions) == {"Bundle transaction": 2}
    assert result.flip_requests == 2
    # Finish answers with the chart's answer (it came within its wait): no status poll.
    assert result.polls_median == 0
    assert result.finish_post_median_ms > 0
