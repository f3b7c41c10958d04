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
    options = Options(
        launches=1,
        latencies_ms=(0, 150),
        chart_sizes=(2, 6),
        output=output,
        clicks=1,
        action_repeats=2,
        answer_items=50,
        spike_launches=3,
        spike_idle=2,
        spike_window_s=1.0,
        finishes=1,
    )

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
        "Chromium click-to-concern / floor @150ms",
        "  hop: launch (302) @150ms",
        "Flip's own server time per launch @150ms",
        "Flip's own server time, first launch after start",
        "this machine: same CPU work after 150 ms idle / none",
        "agenda action 'merge' server time",
        "server time, 2 extra, a 50-item answer / small chart",
        "server time, 6 extra / small chart",
        "spike p95 / idle p95",
        "spike cross-talk (another patient shown)",
        "Finish-to-saved / direct writes @50ms",
    ):
        assert row in table
    written = json.loads(output.read_text())
    assert written == json.loads(json.dumps(returned))
    assert set(written) >= {
        "latency",
        "chart_sizes",
        "checks",
        "server_time_measures",
        "chromium",
        "agenda_actions",
        "spike",
        "writeback",
    }
    at_150 = written["latency"][1]
    assert at_150["latency_ms"] == 150
    # The injected latency is really there: a batch can't beat one 150 ms round trip.
    assert at_150["floor_batch_median_ms"] >= 150
    assert at_150["fhir_requests_per_launch"] == 1
    assert written["first_launch_flip_server_ms"] > 0
    assert written["machine_idle_wake_ratio"] > 0
    assert [c["filler_resources"] for c in written["chart_sizes"]] == [2, 2, 6]
    assert [c["answer_items"] for c in written["chart_sizes"]] == [2, 50, 2]
    assert {a["action"]: a["fhir_requests"] for a in written["agenda_actions"]} == dict.fromkeys(
        ("status", "reorder", "add", "merge", "split"), 0
    )  # an action reuses the launch's chart read
    assert written["spike"]["errors"] == 0 and written["spike"]["cross_talk"] == 0
    assert (
        written["writeback"]["felt_median_ms"] > 0 and written["writeback"]["direct_median_ms"] > 0
    )
    assert all(check["result"] in ("PASS", "MISS", "info") for check in written["checks"])
