"""Fault injection and latency for the FHIR and token endpoints.

`flip sandbox serve --latency-ms N` delays every FHIR and token request, like a real
EHR's network. `POST /_sandbox/faults` (loopback only) arms a fault, e.g.
`{"status": 503, "count": 3, "methods": ["POST"], "path_prefix": "/fhir"}`: the next
three matching requests answer 503 with an OperationOutcome and a `Retry-After`.
`"latency_ms"` delays matching requests instead of (or before) failing them;
`"reset": true` replaces the armed faults instead of adding to them. `DELETE` clears.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, jsonify, request

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

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, its count decremented."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
            return None


bp = Blueprint("faults", __name__, url_prefix="/_sandbox")


def init_app(app: Flask) -> None:
    """Install latency and faults in front of every request, and the faults endpoint."""
    app.extensions["ehr_sandbox_faults"] = FaultBoard()
    app.before_request(_apply_faults)
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
    if fault.latency_ms:
        time.sleep(fault.latency_ms / 1000)
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
            count=int(body["count"]) if body.get("count", 1) is not None else None,
            methods=frozenset(str(m).upper() for m in body.get("methods", [])),
            path_prefix=str(body.get("path_prefix", "/fhir")),
            latency_ms=int(body.get("latency_ms", 0)),
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


@bp.delete("/faults")
def clear_faults() -> tuple[Response, int]:
    """Clear every armed fault."""
    board = _board()
    with board.lock:
        board.faults.clear()
    return jsonify({"armed": 0}), 200
