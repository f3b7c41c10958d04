"""This machine's penalty for waiting: the same CPU work, timed after sleeping and not.

Flip's own time in a launch is CPU work between its waits on the EHR. On a shared virtual
machine, work that follows a wait runs slower than work that follows work (the caches and
the core have gone cold), so Flip's own time at 150 ms of EHR latency reads higher than at
0 ms for the same code. Measured in the same run, this ratio tells the machine's share of
that difference from Flip's.
"""

from __future__ import annotations

import json
import random
import statistics
import time

IDLE_MS = 150
# 500 small JSON objects: about 1 ms of work, as much as one of Flip's hops does between
# two waits.
_PAYLOAD = json.dumps(
    [{"id": str(n), "code": {"coding": [{"code": str(c)} for c in range(8)]}} for n in range(500)]
)


def _work() -> float:
    started = time.perf_counter()
    for entry in json.loads(_PAYLOAD):
        sorted(coding["code"] for coding in entry["code"]["coding"])
    return time.perf_counter() - started


def idle_wake_ratio(rounds: int = 60) -> float:
    """Median time of the same work right after `IDLE_MS` of sleep, over right after none.

    The two kinds of rounds are shuffled together, so a busy moment hits both alike.
    """
    times: dict[bool, list[float]] = {True: [], False: []}
    order = [True, False] * rounds
    random.shuffle(order)
    _work()  # the first round of a fresh process pays for warming up, not for idling
    for idle in order:
        time.sleep(IDLE_MS / 1000 if idle else 0)
        times[idle].append(_work())
    return statistics.median(times[True]) / statistics.median(times[False])
