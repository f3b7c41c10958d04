"""The real-browser measure end to end with one click: it runs and reports every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.chromium import measure_chromium
from benchmarks.measure import seed_visit
from benchmarks.servers import deploy


@pytest.mark.browser
def test_measure_chromium_times_flip_and_the_floor_with_their_hops(tmp_path: Path) -> None:
    # Its own Chromium, closed on return: tests/browser's session-wide Playwright driver
    # cannot be reached from here, and a second driver cannot start beside a live one.
    with deploy(tmp_path) as ehr:
        seed_visit(ehr)
        result = measure_chromium(ehr, 0, 1)

    assert result.latency_ms == 0
    assert result.clicks == 1
    assert result.flip_median_ms > 0
    assert result.floor_median_ms > 0
    assert result.flip_p95_ms >= result.flip_median_ms
    assert result.ratio == pytest.approx(result.flip_median_ms / result.floor_median_ms)
    # After the warm-up click the frame keeps Flip's cookie: no interstitial page, a 302;
    # the callback answers with the visit page itself. Flip takes the floor's hops.
    hops = [
        "EHR chart page",
        "launch (302)",
        "authorize (EHR, 302)",
        "callback: token + batch + page",
    ]
    assert [hop.name for hop in result.flip_hops] == hops
    assert [hop.name for hop in result.floor_hops] == hops
    # The hops are the click's time cut in pieces.
    assert sum(hop.median_ms for hop in result.floor_hops) == pytest.approx(result.floor_median_ms)
