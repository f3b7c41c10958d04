"""Fault injection and latency for the FHIR and token endpoints.

`flip sandbox serve --latency-ms N` delays every FHIR and token request, like a real
EHR's network. `POST /_sandbox/faults` (loopback only) arms a fault, e.g.
`{"status": 503, "count": 3, "methods": ["POST"], "path_prefix": "/fhir"}`: the next
three matching requests answer 503 with an OperationOutcome and a `Retry-After`.
`"latency_ms"` delays matching requests instead of (or before) failing them;
`"reset": true` replaces the armed faults instead of adding to them. `DELETE` clears.

`"when": "after"` lets the request be processed and committed first, then answers with
the fault (or the delay): the response is lost, the write is not, which is the hazard of
duplicates a client must survive. `"drop": true` closes the connection without any
response (the client sees a connection reset). `"probability": 0.3` hits each matching
request at random with that probability (`count` counts only the hits). `"skip": 1`
lets the first matching request through and hits the ones after it (the second of two
transactions to the same base, say). A timeout is a `latency_ms` longer than the client's
timeout.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, g, jsonify, request

from ehr_sandbox.state import current_state

# Paths that a real EHR's network sits in front of: FHIR (both bases) and the token endpoint.
LATENCY_PREFIXES = ("/fhir", "/open/fhir", "/auth/token")
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@dataclass(slots=True)
class Fault:
    """One armed fault; `count` is how many more requests it hits (None: until cleared)."""

    status: int | None = None
    count: int | None = 1
    methods: frozenset[str] = frozenset()
    path_prefix: str = "/fhir"
    latency_ms: int = 0
    when: str = "before"  # before: instead of processing; after: once processed
    drop: bool = False  # close the connection without a response
    probability: float = 1.0
    skip: int = 0  # matching requests let through before the fault hits

    def matches(self, method: str, path: str) -> bool:
        """True when a request with this method and path should get the fault."""
        if self.methods and method not in self.methods:
            return False
        return path.startswith(self.path_prefix) and (self.count is None or self.count > 0)


@dataclass(slots=True)
class FaultBoard:
    """The armed faults of one sandbox app, safe across request threads."""

    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=random.Random)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching (and, by its probability, hitting) this request."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.probability < 1 and self.rng.random() >= fault.probability:
                        continue
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
            return None


bp = Blueprint("faults", __name__, url_prefix="/_sandbox")


def init_app(app: Flask) -> None:
    """Install latency and faults in front of every request, and the faults endpoint."""
    app.extensions["ehr_sandbox_faults"] = FaultBoard()
    app.before_request(_apply_faults)
    app.after_request(_apply_faults_after)
    app.register_blueprint(bp)


def _board() -> FaultBoard:
    from flask import current_app

    board: FaultBoard = current_app.extensions["ehr_sandbox_faults"]
    return board


def _apply_faults() -> Response | None:
    if request.path.startswith("/_sandbox"):
        return None
    latency_ms = current_state().settings.latency_ms
    if latency_ms and request.path.startswith(LATENCY_PREFIXES):
        time.sleep(latency_ms / 1000)
    fault = _board().take(request.method, request.path)
    if fault is None:
        return None
    if fault.when == "after":
        g.sandbox_fault_after = fault  # answered by _apply_faults_after, once processed
        return None
    return _answer(fault)


def _apply_faults_after(response: Response) -> Response:
    fault: Fault | None = g.pop("sandbox_fault_after", None)
    if fault is None:
        return response
    return _answer(fault) or response


def _answer(fault: Fault) -> Response | None:
    if fault.latency_ms:
        time.sleep(fault.latency_ms / 1000)
    if fault.drop:
        _drop_connection()
        return _empty()
    if fault.status is None:
        return None
    response = jsonify(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "transient" if fault.status >= 500 else "processing",
                    "diagnostics": f"Injected fault: HTTP {fault.status}",
                }
            ],
        }
    )
    response.status_code = fault.status
    response.mimetype = "application/fhir+json"
    if fault.status in (429, 503):
        response.headers["Retry-After"] = "1"
    return response


def _drop_connection() -> None:
    # Werkzeug's dev server exposes the client's socket: shut it so no response goes out.
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):  # the client already left
            connection.shutdown(socket.SHUT_RDWR)


def _empty() -> Response:
    # Never reaches the client (the socket is shut); werkzeug drops it quietly.
    response = Response(b"", status=502)
    response.headers["Connection"] = "close"
    return response


@bp.before_request
def _loopback_only() -> tuple[Response, int] | None:
    if request.remote_addr not in LOOPBACK:
        return jsonify({"error": "fault injection answers loopback clients only"}), 403
    return None


@bp.post("/faults")
def arm_fault() -> tuple[Response, int]:
    """Arm a fault (see the module docstring for the body)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "send a JSON object"}), 400
    try:
        fault = Fault(
            status=int(body["status"]) if body.get("status") is not None else None,
            count=int(body.get("count", 1)) if body.get("count", 1) is not None else None,
            methods=frozenset(str(m).upper() for m in body.get("methods", [])),
            path_prefix=str(body.get("path_prefix", "/fhir")),
            latency_ms=int(body.get("latency_ms", 0)),
            when=_when(body.get("when", "before")),
            drop=bool(body.get("drop", False)),
            probability=_probability(body.get("probability", 1.0)),
            skip=_skip(body.get("skip", 0)),
        )
    except (TypeError, ValueError) as exc:
        return jsonify({"error": f"bad fault: {exc}"}), 400
    board = _board()
    with board.lock:
        if body.get("reset"):
            board.faults.clear()
        board.faults.append(fault)
        armed = len(board.faults)
    return jsonify({"armed": armed}), 201


def _when(value: object) -> str:
    if value not in ("before", "after"):
        raise ValueError("'when' must be 'before' or 'after'")
    return str(value)


def _skip(value: object) -> int:
    skip = int(str(value))  # "2" and 2 read alike; "often", 1.5 and None are refused
    if skip < 0:
        raise ValueError("'skip' must be 0 or more")
    return skip


def _probability(value: object) -> float:
    probability = float(value)  # type: ignore[arg-type]
    if not 0 <= probability <= 1:
        raise ValueError("'probability' must be between 0 and 1")
    return probability


@bp.delete("/faults")
def clear_faults() -> tuple[Response, int]:
    """Clear every armed fault."""
    board = _board()
    with board.lock:
        board.faults.clear()
    return jsonify({"armed": 0}), 200
