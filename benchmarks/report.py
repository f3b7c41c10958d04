"""The benchmark's checks against the issue's targets, as a table and as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.actions import ActionResult
from benchmarks.chart import SMALL_ANSWER_ITEMS
from benchmarks.chromium import ChromiumResult
from benchmarks.machine import IDLE_MS
from benchmarks.measure import ChartResult, LatencyResult
from benchmarks.spike import SpikeResult
from benchmarks.writeback import WritebackResult

FLOOR_TARGET = 1.15
SEQUENTIAL_TARGET = 0.35
SEQUENTIAL_TARGET_LATENCY_MS = 150
SPREAD_TARGET = 1.20
STEADY_FHIR_REQUESTS = 1
# Chromium click-to-concern / browser floor, by latency (ms).
CHROMIUM_TARGETS = {50: 1.3, 150: 1.15}
LAUNCH_SERVER_TARGET_MS = 10.0
ACTION_TARGET_MS = 20.0
SPIKE_TARGET = 1.5
BIG_CHART_TARGET = 2.0
WRITEBACK_TARGET = 1.3

SERVER_TIME_MEANING = (
    "server time = wall time of GET /l/<launch>/visit seen by the client, minus the seconds "
    "Flip's gateway spent waiting on FHIR responses during that request (the increase of "
    "flip_fhir_request_seconds_sum on /metrics); i.e. Flip's own work: routing, launch and "
    "token lookup, mapping the batch, the flip, the draft, rendering, plus loopback HTTP. "
    "The sandbox's own search time is the excluded FHIR wait, shown separately. The small "
    "chart's loads and the big answer's take turns, so a busy moment falls on both alike."
)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a measured value, and its target when it has one."""

    metric: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None

    @property
    def result(self) -> str:
        """PASS, MISS, or `info` for a value without a target."""
        return "info" if self.passed is None else "PASS" if self.passed else "MISS"


@dataclass(frozen=True, slots=True)
class Measured:
    """Everything one run measured."""

    latencies: list[LatencyResult]
    charts: list[ChartResult]
    first_launch_requests: int
    first_launch_server_ms: float  # Flip's own time in the first launch after its start
    idle_wake_ratio: float  # this machine: the same CPU work after an idle wait / after none
    clicks: list[ChromiumResult]
    actions: list[ActionResult]
    spike: SpikeResult
    writeback: WritebackResult


def _at_most(metric: str, value: float, unit: str, target: float) -> Row:
    return Row(metric, value, unit, f"<= {target:g}", value <= target)


def build_rows(measured: Measured) -> list[Row]:
    """The table's rows, every value measured in this run."""
    rows = [
        Row(
            "FHIR requests, first launch (capabilities + batch)",
            measured.first_launch_requests,
            "req",
        ),
        Row(
            "Flip's own server time, first launch after start",
            measured.first_launch_server_ms,
            "ms",
        ),
    ]
    rows += _chromium_rows(measured.clicks)
    rows += _launch_rows(measured.latencies)
    idle = f"this machine: same CPU work after {IDLE_MS} ms idle / none"
    rows.append(Row(idle, measured.idle_wake_ratio, "x"))
    for a in measured.actions:
        rows.append(
            _at_most(
                f"agenda action '{a.action}' server time",
                a.server_median_ms,
                "ms",
                ACTION_TARGET_MS,
            )
        )
        rows.append(
            Row(
                f"  FHIR requests in {a.repeats} '{a.action}'",
                a.fhir_requests,
                "req",
                "= 0",
                a.fhir_requests == 0,
            )
        )
    rows += _chart_rows(measured.charts)
    rows += _spike_rows(measured.spike)
    w = measured.writeback
    at = f"@{w.latency_ms}ms"
    rows += [
        Row(f"Finish to saved, as the page shows it, median {at}", w.felt_median_ms, "ms"),
        Row(f"the same writes sent directly, median {at}", w.direct_median_ms, "ms"),
        _at_most(f"Finish-to-saved / direct writes {at}", w.ratio, "x", WRITEBACK_TARGET),
    ]
    return rows


def _chromium_rows(clicks: list[ChromiumResult]) -> list[Row]:
    rows: list[Row] = []
    for c in clicks:
        at = f"@{c.latency_ms}ms"
        rows += [
            Row(f"Chromium click-to-concern median {at}", c.flip_median_ms, "ms"),
            Row(f"Chromium click-to-concern p95 {at}", c.flip_p95_ms, "ms"),
            Row(f"Chromium browser floor median {at}", c.floor_median_ms, "ms"),
            Row(f"Chromium browser floor p95 {at}", c.floor_p95_ms, "ms"),
        ]
        target = CHROMIUM_TARGETS.get(c.latency_ms)
        ratio = f"Chromium click-to-concern / floor {at}"
        rows.append(
            Row(ratio, c.ratio, "x") if target is None else _at_most(ratio, c.ratio, "x", target)
        )
        rows += [Row(f"  hop: {h.name} {at}", h.median_ms, "ms") for h in c.flip_hops]
    return rows


def _launch_rows(latencies: list[LatencyResult]) -> list[Row]:
    rows: list[Row] = []
    for r in latencies:
        at = f"@{r.latency_ms}ms"
        rows += [
            Row(f"launch-to-agenda median {at}", r.launch_median_ms, "ms"),
            Row(f"launch-to-agenda p95 {at}", r.launch_p95_ms, "ms"),
            _at_most(
                f"Flip's own server time per launch {at}",
                r.flip_server_median_ms,
                "ms",
                LAUNCH_SERVER_TARGET_MS,
            ),
            Row(
                f"FHIR requests after token, per launch {at}",
                r.fhir_requests_per_launch,
                "req",
                f"= {STEADY_FHIR_REQUESTS}",
                r.fhir_requests_per_launch == STEADY_FHIR_REQUESTS,
            ),
            Row(f"floor: authorize+token+batch {at}", r.floor_median_ms, "ms"),
            Row(
                f"launch median / floor {at}",
                r.floor_ratio,
                "x",
                f"<= {FLOOR_TARGET}",
                r.floor_ratio <= FLOOR_TARGET,
            ),
            Row(f"Flip batch wait {at}", r.flip_batch_median_ms, "ms"),
            Row(
                f"sequential fetch, {r.sequential_requests} GETs {at}", r.sequential_median_ms, "ms"
            ),
            Row(
                f"Flip batch / sequential {at}",
                r.sequential_ratio,
                "x",
                *(
                    (f"<= {SEQUENTIAL_TARGET}", r.sequential_ratio <= SEQUENTIAL_TARGET)
                    if r.latency_ms == SEQUENTIAL_TARGET_LATENCY_MS
                    else ()
                ),
            ),
        ]
    return rows


def _chart_label(c: ChartResult) -> str:
    big = f", a {c.answer_items}-item answer" if c.answer_items > SMALL_ANSWER_ITEMS else ""
    return f"{c.filler_resources} extra{big}"


def _chart_rows(charts: list[ChartResult]) -> list[Row]:
    rows: list[Row] = []
    for c in charts:
        rows += [
            Row(f"server time per agenda, {_chart_label(c)}", c.server_median_ms, "ms"),
            Row(f"  (excluded FHIR wait, {_chart_label(c)})", c.fhir_wait_median_ms, "ms"),
        ]
    sizes = _with_small_answer(charts)
    if sizes:
        small = sizes[0]
        bigger = [c for c in charts if c not in sizes] + [sizes[-1]] * (len(sizes) > 1)
        for c in bigger:
            rows.append(
                _at_most(
                    f"server time, {_chart_label(c)} / small chart",
                    c.server_median_ms / small.server_median_ms,
                    "x",
                    BIG_CHART_TARGET,
                )
            )
        spread = server_spread(sizes)
        rows.append(
            Row(
                "server time spread max/min across chart sizes",
                spread,
                "x",
                f"<= {SPREAD_TARGET}",
                spread <= SPREAD_TARGET,
            )
        )
    return rows


def _spike_rows(spike: SpikeResult) -> list[Row]:
    at = f"@{spike.latency_ms}ms, {spike.workers} gunicorn workers"
    return [
        Row(f"idle launch p95 {at}", spike.idle_p95_ms, "ms"),
        Row(
            f"spike launch p95, {spike.launches} in {spike.window_used_s:.1f}s {at}",
            spike.spike_p95_ms,
            "ms",
        ),
        _at_most("spike p95 / idle p95", spike.p95_ratio, "x", SPIKE_TARGET),
        Row("spike errors", spike.errors, "req", "= 0", spike.errors == 0),
        Row(
            "spike cross-talk (another patient shown)",
            spike.cross_talk,
            "req",
            "= 0",
            spike.cross_talk == 0,
        ),
    ]


def _with_small_answer(charts: list[ChartResult]) -> list[ChartResult]:
    """The charts of each size with the teen's small answer (no big answer in them)."""
    return [c for c in charts if c.answer_items == SMALL_ANSWER_ITEMS]


def server_spread(charts: list[ChartResult]) -> float:
    """Largest over smallest median server time across chart sizes."""
    times = [c.server_median_ms for c in charts]
    return max(times) / min(times) if times else 0.0


def render_table(rows: list[Row]) -> str:
    """A plain-text table, one row per check, followed by what server time means."""
    width = max(len(r.metric) for r in rows)
    lines = [f"{'metric':<{width}}  {'value':>12}  {'target':<8}  result"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        value = f"{r.value:.0f} {r.unit}" if r.unit == "req" else f"{r.value:.2f} {r.unit}"
        lines.append(f"{r.metric:<{width}}  {value:>12}  {r.target:<8}  {r.result}")
    lines.append("")
    lines.append(SERVER_TIME_MEANING)
    return "\n".join(lines)


def results_json(settings: dict[str, Any], measured: Measured, rows: list[Row]) -> dict[str, Any]:
    """Everything measured, plus the checks, as JSON-ready data."""
    charts = measured.charts
    return {
        "settings": settings,
        "first_launch_fhir_requests": measured.first_launch_requests,
        "first_launch_flip_server_ms": measured.first_launch_server_ms,
        "machine_idle_wake_ratio": measured.idle_wake_ratio,
        "chromium": [asdict(c) for c in measured.clicks],
        "latency": [asdict(r) for r in measured.latencies],
        "agenda_actions": [asdict(a) for a in measured.actions],
        "chart_sizes": [asdict(c) for c in charts],
        "spike": asdict(measured.spike),
        "writeback": asdict(measured.writeback),
        "server_time_spread": server_spread(_with_small_answer(charts)) or None,
        "server_time_measures": SERVER_TIME_MEANING,
        "checks": [
            {"metric": r.metric, "value": r.value, "unit": r.unit, "target": r.target}
            | {"result": r.result}
            for r in rows
        ],
    }
