"""The outbox worker: in-process (a thread started by create_app) or `flip outbox run`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from flask import Flask

from smart_app.closing.outbox import OutboxService
from smart_app.session import pending
from smart_app.visit import chart_reads

log = logging.getLogger(__name__)

# How often a pass also deletes expired pending launches (smart_app/session/pending.py)
# and the chart reads of expired launches (smart_app/visit/chart_reads.py).
PURGE_EVERY_S = 60.0


class OutboxWorker:
    """A background thread that processes due rows every `poll_s`, or when woken."""

    def __init__(
        self,
        app: Flask,
        service: OutboxService,
        *,
        poll_s: float,
        also: Sequence[Callable[[], int]] = (),
    ) -> None:
        self._app = app
        self._service = service
        # Other outboxes woken by the same event (the pre-visit answers' outbox).
        self._also = tuple(also)
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="flip-outbox", daemon=True)
        self._purged_at = time.monotonic()

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        self._service.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run(self, *, once: bool = False, until: Callable[[], bool] | None = None) -> None:
        """Process due rows until stopped (or one pass with `once`)."""
        while not self._stop.is_set() and not (until and until()):
            self._service.wake.clear()
            try:
                with self._app.app_context():
                    count = self._service.process_due()
                    count += sum(process_due() for process_due in self._also)
                    self._purge_expired()
                if count:
                    log.info("outbox: %d row(s) attempted", count)
            except Exception as error:  # the worker must outlive a bad pass
                log.error("outbox: pass failed (%s)", type(error).__name__)
            if once:
                return
            self._service.wake.wait(self._poll_s)

    def _purge_expired(self) -> None:
        if time.monotonic() - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = time.monotonic()
            purged = pending.purge_expired()
            if purged:
                log.info("purged %d expired pending launch(es)", purged)
            purged = chart_reads.purge_expired()
            if purged:
                log.info("purged %d chart read(s) of expired launches", purged)
