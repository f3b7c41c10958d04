"""The benchmark's checks against the issue's targets, as a table and as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.measure import ChartResult, LatencyResult

FLOOR_TARGET = 1.15
SEQUENTIAL_TARGET = 0.35
SEQUENTIAL_TARGET_LATENCY_MS = 150
SPREAD_TARGET = 1.20
STEADY_FHIR_REQUESTS = 1

SERVER_TIME_MEANING = (
    "server time = wall time of GET /l/<launch>/visit seen by the client, minus the seconds "
    "Flip's gateway spent waiting on FHIR responses during that request (the increase of "
    "flip_fhir_request_seconds_sum on /metrics); i.e. Flip's own work: routing, launch and "
    "token lookup, mapping the batch, the flip, the draft, rendering, plus loopback HTTP. "
    "The sandbox's own search time is the excluded FHIR wait, shown separately."
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


def build_rows(
    latencies: list[LatencyResult], charts: list[ChartResult], first_launch_requests: int
) -> list[Row]:
    """The table's rows, every value measured in this run."""
    rows = [
        Row("FHIR requests, first launch (capabilities + batch)", first_launch_requests, "req"),
    ]
    for r in latencies:
        at = f"@{r.latency_ms}ms"
        rows += [
            Row(f"launch-to-agenda median {at}", r.launch_median_ms, "ms"),
            Row(f"launch-to-agenda p95 {at}", r.launch_p95_ms, "ms"),
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
    for c in charts:
        rows += [
            Row(f"server time per agenda, {c.filler_resources} extra", c.server_median_ms, "ms"),
            Row(f"  (excluded FHIR wait, {c.filler_resources} extra)", c.fhir_wait_median_ms, "ms"),
        ]
    if charts:
        spread = server_spread(charts)
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


def server_spread(charts: list[ChartResult]) -> float:
    """Largest over smallest median server time across chart sizes."""
    times = [c.server_median_ms for c in charts]
    return max(times) / min(times)


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


def results_json(
    settings: dict[str, Any],
    latencies: list[LatencyResult],
    charts: list[ChartResult],
    first_launch_requests: int,
    rows: list[Row],
) -> dict[str, Any]:
    """Everything measured, plus the checks, as JSON-ready data."""
    return {
        "settings": settings,
        "first_launch_fhir_requests": first_launch_requests,
        "latency": [asdict(r) for r in latencies],
        "chart_sizes": [asdict(c) for c in charts],
        "server_time_spread": server_spread(charts) if charts else None,
        "server_time_measures": SERVER_TIME_MEANING,
        "checks": [
            {"metric": r.metric, "value": r.value, "unit": r.unit, "target": r.target}
            | {"result": r.result}
            for r in rows
        ],
    }
