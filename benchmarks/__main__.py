"""`python -m benchmarks`: measure Flip's launch against the sandbox, print a table, write JSON.

The output path is `--output`, else `$FLIP_BENCH_OUTPUT`, else `bench-results.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import chart
from benchmarks.actions import measure_actions
from benchmarks.chromium import ChromiumResult, chromium, measure_chromium
from benchmarks.machine import IDLE_MS, idle_wake_ratio
from benchmarks.measure import (
    ChartResult,
    LatencyResult,
    launch_once,
    measure_answers,
    measure_chart,
    measure_latency,
    seed_visit,
)
from benchmarks.report import Measured, build_rows, render_table, results_json
from benchmarks.servers import Deployment, deploy
from benchmarks.spike import run_spike
from benchmarks.writeback import WORKER_CONFIG, WRITEBACK_LATENCY_MS, measure_writeback

OUTPUT_ENV = "FLIP_BENCH_OUTPUT"


@dataclass(frozen=True, slots=True)
class Options:
    """What one benchmark run measures."""

    launches: int = 10
    latencies_ms: tuple[int, ...] = (0, 50, 150)
    chart_sizes: tuple[int, ...] = (10, 1_000, 10_000)
    output: Path = Path("bench-results.json")
    clicks: int = 10  # Chromium clicks per latency, for Flip and for the floor
    action_repeats: int = 20
    answer_items: int = 5_000
    spike_launches: int = 40
    spike_idle: int = 20
    spike_window_s: float = 10.0
    finishes: int = 5


DEFAULTS = Options()


def run(options: Options, *, log: Any = sys.stderr) -> dict[str, Any]:
    """Run every measurement, print the table to stdout, write and return the JSON."""
    with tempfile.TemporaryDirectory(prefix="flip-bench-") as folder, deploy(Path(folder)) as ehr:
        now = seed_visit(ehr)
        # The first launch fills Flip's caches (SMART discovery, CapabilityStatement):
        # counted on its own, then every timed launch is a steady-state one. Its own time
        # shows what a start leaves to the first clinician (Flip warmed up at start).
        first = launch_once(ehr)
        clicks: list[ChromiumResult] = []
        with chromium() as browser:
            for latency_ms in options.latencies_ms:
                print(f"Chromium: {options.clicks} clicks at {latency_ms} ms...", file=log)
                clicks.append(measure_chromium(ehr, latency_ms, options.clicks, browser=browser))
        latencies: list[LatencyResult] = []
        for latency_ms in options.latencies_ms:
            print(f"launching {options.launches}x at {latency_ms} ms latency...", file=log)
            latencies.append(measure_latency(ehr, latency_ms, options.launches))
        print(f"this machine: the same work after {IDLE_MS} ms idle and after none...", file=log)
        wake = idle_wake_ratio()
        ehr.set_latency(0)  # server time excludes FHIR waiting; no need to wait for it
        print(f"agenda actions, {options.action_repeats}x each...", file=log)
        actions = measure_actions(ehr, options.action_repeats)
        charts = _measure_charts(ehr, options, now, log)
    # Its own deployment, with Flip's outbox worker on: a finished plan also changes the
    # patient's next agenda (feed-forward), which the measures above must not see.
    print(f"Chromium: Finish to saved at {WRITEBACK_LATENCY_MS} ms...", file=log)
    with (
        tempfile.TemporaryDirectory(prefix="flip-bench-") as folder,
        deploy(Path(folder), flip_config=WORKER_CONFIG) as ehr,
    ):
        seed_visit(ehr)
        writeback = measure_writeback(ehr, WRITEBACK_LATENCY_MS, options.finishes)
    print(f"clinic-start spike: {options.spike_launches} launches...", file=log)
    spike = run_spike(
        launches=options.spike_launches,
        idle_launches=options.spike_idle,
        window_s=options.spike_window_s,
    )
    measured = Measured(
        latencies,
        charts,
        round(first.fhir.requests),
        first.flip_server_s * 1000,
        wake,
        clicks,
        actions,
        spike,
        writeback,
    )
    rows = build_rows(measured)
    print(render_table(rows))
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()}
    settings["output"] = str(options.output)
    results = results_json(settings, measured, rows)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {options.output}", file=log)
    return results


def _measure_charts(
    ehr: Deployment, options: Options, now: datetime, log: Any
) -> list[ChartResult]:
    """The smallest chart with the small answer and with a big one, then the bigger charts."""
    charts: list[ChartResult] = []
    seeded = 0
    page_loads = 2 * options.launches  # cheap at 0 ms latency: more, for a steadier median
    for size in sorted(options.chart_sizes):
        print(f"chart of {size} extra resources...", file=log)
        ehr.put_all(chart.filler(seeded, size, now))
        seeded = size
        if charts:
            charts.append(measure_chart(ehr, size, page_loads))
            continue
        print(f"  in turns with a pre-visit answer of {options.answer_items} items...", file=log)
        charts += measure_answers(ehr, size, page_loads, now, options.answer_items)
    return charts


def _integers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Options from the command line (and $FLIP_BENCH_OUTPUT)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--launches", type=int, default=DEFAULTS.launches, help="per latency")
    parser.add_argument(
        "--latencies", type=_integers, default=DEFAULTS.latencies_ms, help="ms, e.g. 0,50,150"
    )
    parser.add_argument(
        "--chart-sizes", type=_integers, default=DEFAULTS.chart_sizes, help="e.g. 10,1000,10000"
    )
    parser.add_argument(
        "--output", type=Path, default=Path(os.environ.get(OUTPUT_ENV, str(DEFAULTS.output)))
    )
    args = parser.parse_args(argv)
    if args.launches < 1:
        parser.error("--launches must be at least 1")
    return replace(
        DEFAULTS,
        launches=args.launches,
        latencies_ms=args.latencies,
        chart_sizes=args.chart_sizes,
        output=args.output,
    )


if __name__ == "__main__":
    run(parse_options())
