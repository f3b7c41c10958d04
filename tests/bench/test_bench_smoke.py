"""`make bench` end to end with tiny numbers: the harness runs and reports every check."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmarks.__main__ import Options, run


def test_bench_prints_the_table_and_writes_every_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "bench.json"
    options = Options(launches=1, latencies_ms=(0, 150), chart_sizes=(2, 6), output=output)

    returned = run(options, log=io.StringIO())

    table = capsys.readouterr().out
    for row in (
        "launch-to-agenda median @150ms",
        "FHIR requests after token, per launch @150ms",
        "launch median / floor @150ms",
        "Flip batch / sequential @150ms",
        "server time per agenda, 6 extra",
        "server time spread max/min across chart sizes",
        "server time = wall time of GET",
    ):
        assert row in table
    written = json.loads(output.read_text())
    assert written == json.loads(json.dumps(returned))
    assert set(written) >= {"latency", "chart_sizes", "checks", "server_time_measures"}
    at_150 = written["latency"][1]
    assert at_150["latency_ms"] == 150
    # The injected latency is really there: a batch can't beat one 150 ms round trip.
    assert at_150["floor_batch_median_ms"] >= 150
    assert at_150["fhir_requests_per_launch"] == 1
    assert [c["filler_resources"] for c in written["chart_sizes"]] == [2, 6]
    assert all(check["result"] in ("PASS", "MISS", "info") for check in written["checks"])
