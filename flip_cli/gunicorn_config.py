"""gunicorn's settings under `flip serve`: every worker's metrics, from one /metrics.

`flip serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory for this start; each
worker writes its metric values there, and these hooks tidy up after workers and the
server (https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: its live gauges no longer count (its counters still do)."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """The server stopped: its metrics directory goes with it."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
