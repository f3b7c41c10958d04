"""The HTTP sessions of FHIR I/O: reads retried on 429/502/503/504, honouring Retry-After.

Writes are never retried here (the outbox owns their retries, launch/gateway.py). A
`batch` of GETs is a read, so it goes through `read_session`, which retries its POST too.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# The longest wait a server's Retry-After may impose on one read, below the request timeout.
RETRY_AFTER_MAX_S = 10


def retrying_session(
    *,
    retries: int = 3,
    backoff_s: float = 0.5,
    retry_after_max_s: int = RETRY_AFTER_MAX_S,
    methods: frozenset[str] = frozenset({"GET"}),
) -> requests.Session:
    """A requests session that retries `methods` (idempotent reads) on 429/502/503/504.

    A server's `Retry-After` is honoured up to `retry_after_max_s`, so that a
    `Retry-After: 3600` makes the page retry soon (or fail) rather than hang for an hour.
    """
    retry = Retry(
        total=retries,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=methods,
        backoff_factor=backoff_s,
        respect_retry_after_header=True,
        retry_after_max=retry_after_max_s,  # urllib3's own cap (its default is 6 hours)
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def read_session(*, retry_after_max_s: int = RETRY_AFTER_MAX_S) -> requests.Session:
    """The session of read-only `batch` POSTs: retried with the same limits as GETs."""
    return retrying_session(methods=frozenset({"GET", "POST"}), retry_after_max_s=retry_after_max_s)
