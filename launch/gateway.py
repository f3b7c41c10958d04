"""The one owner of FHIR I/O: bearer token, timeouts, retries, paging, batch, writes.

Writes (`create`, `transaction`) are never retried here: the outbox owns their retries,
so that it can record each attempt. Reads, and batches of reads, are retried on 429/503
honouring `Retry-After` (urllib3's Retry, launch/http.py). A 401 triggers one token
refresh and one retry; `next` links are followed only on the FHIR base's own origin, so a
hostile or misconfigured server cannot make Flip send its token elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import orjson
import requests

from launch import metrics
from launch.fhir_errors import (
    FhirError,
    FhirFatalError,
    FhirForbidden,
    FhirTemporaryError,
    FhirUnauthorized,
)

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
DEFAULT_TIMEOUT_S = 15.0
MAX_PAGES = 50


class AccessTokens(Protocol):
    """Where the gateway gets its bearer token (the launch's server-side token store)."""

    def access_token(self) -> str:
        """A token valid for at least a little while (refreshing first if needed)."""
        ...

    def refresh_after_rejection(self, rejected: str) -> str:
        """A new token after `rejected` got a 401 (one refresh even when calls race)."""
        ...


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search: `resource_type?params`."""

    resource_type: str
    params: Mapping[str, str] | Sequence[tuple[str, str]]
    # Optional data (a server that cannot answer this search) must not sink the page.
    optional: bool = False

    def relative_url(self) -> str:
        """The search as a relative URL, for a batch entry."""
        query = urlencode(self.params, safe="|,:")
        return f"{self.resource_type}?{query}" if query else self.resource_type


@dataclass(frozen=True, slots=True)
class _Notes:
    """What a page must say about its reads: searches refused, and searches cut short."""

    refused: list[SearchRequest]
    cut_short: list[SearchRequest]


class FhirGateway:
    """Every FHIR REST call of one launch goes through here."""

    def __init__(
        self,
        base: str,
        tokens: AccessTokens,
        *,
        http: requests.Session,
        read_http: requests.Session | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base = base.rstrip("/")
        self._origin = _origin(self.base)
        self._tokens = tokens
        self._http = http
        # A batch of GETs is a read, retried as GETs are (launch/http.py read_session).
        self._read_http = read_http or http
        self._timeout_s = timeout_s

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """GET one resource."""
        return self._call(
            "GET", f"{self.base}/{resource_type}/{resource_id}", resource_type, "read"
        )

    def capabilities(self) -> dict[str, Any]:
        """GET metadata (the CapabilityStatement)."""
        return self._call("GET", f"{self.base}/metadata", "CapabilityStatement", "capabilities")

    def create(
        self, resource: Mapping[str, Any], *, if_none_exist: str | None = None
    ) -> tuple[int, str]:
        """POST a resource, conditionally on `If-None-Exist`; (HTTP status, "Type/id").

        A 200 answers a conditional create that matched: the resource was already there.
        See https://hl7.org/fhir/R4/http.html#ccreate.
        """
        resource_type = str(resource.get("resourceType", ""))
        headers = {"If-None-Exist": if_none_exist} if if_none_exist else {}
        response = self._exchange(
            "POST",
            f"{self.base}/{resource_type}",
            resource_type,
            "create",
            body=resource,
            headers=headers,
        )
        reference = written_reference(resource_type, _json(response), response.headers)
        if reference is None:
            # Written, but the server did not say where: a conditional retry will find it.
            raise FhirTemporaryError(
                f"The EHR accepted the {resource_type} but returned no id.",
                status=response.status_code,
            )
        return response.status_code, reference

    def update(self, resource: Mapping[str, Any], *, if_match: str | None = None) -> dict[str, Any]:
        """PUT a resource to its id (an update; https://hl7.org/fhir/R4/http.html#update),
        only if it is still the version `if_match` names (`W/"3"`), else a 412; the
        resource as the server now holds it (empty when it returned none)."""
        resource_type = str(resource.get("resourceType", ""))
        response = self._exchange(
            "PUT",
            f"{self.base}/{resource_type}/{resource.get('id', '')}",
            resource_type,
            "update",
            body=resource,
            headers={"If-Match": if_match} if if_match else None,
        )
        body = _json(response)
        return body if isinstance(body, dict) else {}

    def transaction(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """POST a transaction Bundle; the transaction-response Bundle (all or nothing)."""
        return self._call("POST", self.base, "Bundle", "transaction", body=bundle)

    def search(self, request: SearchRequest, *, max_pages: int = MAX_PAGES) -> list[dict[str, Any]]:
        """Every resource matching the search, following `next` links on this origin only."""
        return self.search_pages(request, max_pages=max_pages)[0]

    def search_pages(
        self, request: SearchRequest, *, max_pages: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """At most `max_pages` pages of a search, and whether they were all it had."""
        return self._pages(f"{self.base}/{request.relative_url()}", request, max_pages)

    def batch_search(
        self,
        requests_: Sequence[SearchRequest],
        *,
        use_batch: bool,
        refused: list[SearchRequest] | None = None,
        cut_short: list[SearchRequest] | None = None,
        max_pages: int = MAX_PAGES,
    ) -> list[list[dict[str, Any]]]:
        """Several searches in one round trip (a batch Bundle) or, if not, in parallel.

        An optional search the server refuses gives an empty list, and is added to
        `refused` (when given) so that the page can say what it could not read. A search
        with more than `max_pages` pages stops there, and is added to `cut_short`.
        """
        if not requests_:
            return []
        notes = _Notes([] if refused is None else refused, [] if cut_short is None else cut_short)
        if use_batch:
            return self._batch(requests_, notes, max_pages)
        with ThreadPoolExecutor(max_workers=min(8, len(requests_))) as pool:
            return list(
                pool.map(lambda r: self._search_tolerating_optional(r, notes, max_pages), requests_)
            )

    def _search_tolerating_optional(
        self, request: SearchRequest, notes: _Notes, max_pages: int
    ) -> list[dict[str, Any]]:
        try:
            found, complete = self.search_pages(request, max_pages=max_pages)
        except FhirFatalError as exc:
            if not request.optional or isinstance(exc, FhirUnauthorized):
                raise
            log.warning("optional %s search refused (HTTP %s)", request.resource_type, exc.status)
            notes.refused.append(request)
            return []
        if not complete:
            notes.cut_short.append(request)
        return found

    def _batch(
        self, requests_: Sequence[SearchRequest], notes: _Notes, max_pages: int
    ) -> list[list[dict[str, Any]]]:
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": r.relative_url()}} for r in requests_],
        }
        response = self._call("POST", self.base, "Bundle", "batch", body=bundle)
        entries = response.get("entry") or []
        results: list[list[dict[str, Any]]] = []
        for request, entry in zip(requests_, entries, strict=False):
            status = str((entry.get("response") or {}).get("status", ""))
            inner = entry.get("resource") or {}
            if not status.startswith("2"):
                error = _error_for(int(status[:3] or 500), inner, f"search {request.resource_type}")
                if not request.optional or not isinstance(error, FhirFatalError):
                    raise error
                log.warning("optional %s search refused (%s)", request.resource_type, status)
                notes.refused.append(request)
                results.append([])
                continue
            page, complete = _entries(inner), True
            next_url = self._next_link(inner)
            if next_url:  # the rest of a long result, page by page
                rest, complete = self._pages(next_url, request, max_pages - 1)
                page.extend(rest)
            if not complete:
                notes.cut_short.append(request)
            results.append(page)
        if len(results) != len(requests_):
            raise FhirFatalError("The server's batch response is missing entries.")
        return results

    def _pages(
        self, url: str, request: SearchRequest, max_pages: int
    ) -> tuple[list[dict[str, Any]], bool]:
        next_url: str | None = url
        found: list[dict[str, Any]] = []
        for _ in range(max_pages):
            if next_url is None:
                break
            bundle = self._call("GET", next_url, request.resource_type, "search")
            found.extend(_entries(bundle))
            next_url = self._next_link(bundle)
        return found, next_url is None

    def _next_link(self, bundle: Mapping[str, Any]) -> str | None:
        for link in bundle.get("link") or []:
            if link.get("relation") == "next" and isinstance(link.get("url"), str):
                # Never send the bearer token to another origin.
                return link["url"] if _origin(link["url"]) == self._origin else None
        return None

    def _call(
        self,
        method: str,
        url: str,
        resource_type: str,
        interaction: str,
        *,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload = _json(self._exchange(method, url, resource_type, interaction, body=body))
        return payload if isinstance(payload, dict) else {}

    def _exchange(
        self,
        method: str,
        url: str,
        resource_type: str,
        interaction: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        token = self._tokens.access_token()
        response = self._send(method, url, token, resource_type, interaction, body, headers)
        if response.status_code == 401:
            # A 401 means the request was not processed: sending it again is safe.
            token = self._tokens.refresh_after_rejection(token)
            response = self._send(method, url, token, resource_type, interaction, body, headers)
        if response.status_code >= 400:
            raise _error_for(response.status_code, _json(response), f"{method} {resource_type}")
        return response

    def _send(
        self,
        method: str,
        url: str,
        token: str,
        resource_type: str,
        interaction: str,
        body: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON, **(extra_headers or {})}
        if body is not None:
            headers["Content-Type"] = FHIR_JSON
        started = time.perf_counter()
        status = "error"
        try:
            http = self._read_http if interaction == "batch" else self._http
            response = http.request(
                method, url, json=body, headers=headers, timeout=self._timeout_s
            )
            status = str(response.status_code)
            return response
        except requests.Timeout as exc:
            status = "timeout"
            raise FhirTemporaryError(
                f"The EHR did not answer {method} {resource_type} in time."
            ) from exc
        except requests.RequestException as exc:
            raise FhirTemporaryError(
                f"The EHR could not be reached for {method} {resource_type}."
            ) from exc
        finally:
            metrics.observe_fhir_request(
                resource_type, interaction, status, time.perf_counter() - started
            )


def written_reference(
    resource_type: str, body: Any, headers: Mapping[str, str] | None
) -> str | None:
    """ "Type/id" of a written resource: from the returned resource, else its Location."""
    if isinstance(body, dict) and body.get("resourceType") == resource_type and body.get("id"):
        return f"{resource_type}/{body['id']}"
    location = (headers or {}).get("Location") or (headers or {}).get("location")
    return reference_from_location(resource_type, location)


def reference_from_location(resource_type: str, location: str | None) -> str | None:
    """ "Type/id" out of a Location such as `https://x/fhir/Goal/12/_history/1`."""
    if not location:
        return None
    parts = urlsplit(location).path.strip("/").split("/")
    for index in range(len(parts) - 1, 0, -1):
        if parts[index - 1] == resource_type and parts[index]:
            return f"{resource_type}/{parts[index]}"
    return None


def _entries(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Search results only: OperationOutcome entries (search mode "outcome") are warnings.
    return [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e.get("resource"), dict)
        and (e.get("search") or {}).get("mode", "match") != "outcome"
    ]


def _json(response: requests.Response) -> Any:
    # orjson parses a big chart read in a fraction of the standard parser's time. What it
    # refuses (a byte-order mark, UTF-16, a lone surrogate, an integer over 64 bits),
    # Python's parser reads as before. NaN and Infinity, which JSON does not have, it reads
    # as text, not as floats: sealed, a float NaN would come back as null (core/vault.py),
    # and a resource holding one must stay invalid once its read is kept.
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pass
    try:
        return response.json(parse_constant=str)
    except ValueError:
        return None


def _outcome_text(body: Any) -> str | None:
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    texts = [
        issue.get("diagnostics") or (issue.get("details") or {}).get("text")
        for issue in body.get("issue") or []
    ]
    return "; ".join(t for t in texts if isinstance(t, str)) or None


def _error_for(status: int, body: Any, what: str) -> FhirError:
    outcome = _outcome_text(body)
    message = f"{what} failed with HTTP {status}" + (f": {outcome}" if outcome else "")
    kind: Callable[..., FhirError]
    if status == 401:
        kind = FhirUnauthorized
    elif status == 403:
        kind = FhirForbidden
    elif status == 429 or status >= 500:
        kind = FhirTemporaryError
    else:
        kind = FhirFatalError
    return kind(message, status=status, outcome=outcome)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
