"""A scripted browser for Flip's launch pages, and a reader of Flip's `/metrics`.

The browser follows the launch as Flip's page scripts would: GET /launch, the authorize
redirect, then the callback, which answers with the visit page itself. Like Chromium, it
treats loopback http as a secure context, so Flip's `Secure` partitioned cookie comes back
and the callback binds in one hop. Where no cookie comes back (tests/e2e's cookies-blocked
browser), it does what launch.js and flip-tab.js do: the callback page posts the tab's
stored binding, and each page of the launch is proven by posting the tab's binding back
from the proving page.
"""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass, field
from html import unescape
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

TIMEOUT_S = 60.0
_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


class LoopbackIsSecure(DefaultCookiePolicy):
    """Browsers send `Secure` cookies to http://localhost and 127.0.0.1; so does this."""

    def return_ok_secure(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        """Secure cookies go to https, and to loopback hosts as in Chromium."""
        host = urlsplit(request.get_full_url()).hostname
        return host in ("localhost", "127.0.0.1") or bool(super().return_ok_secure(cookie, request))


class ChromiumLikeSession(requests.Session):
    """A requests session whose jar's cookie policy decides what is sent.

    requests builds each request's cookies in a fresh jar with the default policy, which
    never sends a `Secure` cookie over http; this sends from the session's own jar.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cookies.set_policy(LoopbackIsSecure())

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare as requests does, then set the Cookie header from this session's jar."""
        prepared = super().prepare_request(request)
        prepared.headers.pop("Cookie", None)
        prepared.prepare_cookies(self.cookies)
        return prepared


@dataclass
class Browser:
    """One browser tab: its HTTP connections (kept alive) and its sessionStorage."""

    http: requests.Session = field(default_factory=ChromiumLikeSession)
    session_storage: dict[str, str] = field(default_factory=dict)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET without following redirects (the browser script follows them itself).

        Flip's proving page is answered as flip-tab.js does: the tab's binding for the
        launch in the URL is posted back to the same URL.
        """
        response = self.http.get(url, allow_redirects=False, timeout=TIMEOUT_S, **kwargs)
        if response.status_code != 200 or hidden_fields(response.text, "flip-prove-tab") is None:
            return response
        return self.post(url, {"flip_tab": self.tab_binding(url, prove=True)})

    def api_headers(self, page: requests.Response) -> dict[str, str]:
        """The headers a launch page's script sends on each API call (flip-api.js)."""
        return {
            "X-Flip-Launch": meta_tags(page.text)["flip-launch-token"],
            "X-Flip-Tab": self.tab_binding(page.url),
        }

    def tab_binding(self, url: str, *, prove: bool = False) -> str:
        """The binding this tab keeps for the launch in `url` (flip-tab.js's storage)."""
        launch = re.match(r"/l/([^/]+)/", urlsplit(url).path)
        if launch is None:
            return ""
        key = f"flip-tab:{launch.group(1)}"
        if prove and key not in self.session_storage and "flip-tab:latest" in self.session_storage:
            self.session_storage[key] = self.session_storage.pop("flip-tab:latest")
        return self.session_storage.get(key, "")

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        """POST a form without following redirects."""
        return self.http.post(url, data=data, allow_redirects=False, timeout=TIMEOUT_S)

    def launch(self, url: str) -> requests.Response:
        """Open an EHR launch URL and follow it to the page it lands on."""
        page = self.get(url)
        if page.status_code in (301, 302, 303):  # the cookie of an earlier launch binds
            return self.follow(page)
        metas = meta_tags(page.text)
        if "flip-authorize-url" not in metas:
            return page
        self.session_storage[f"flip-binding:{metas['flip-state']}"] = metas["flip-binding"]
        return self.follow(self.get(metas["flip-authorize-url"]))

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow redirects, and Flip's callback page, to the page the launch lands on."""
        for _ in range(10):
            if response.status_code in (301, 302, 303):
                response = self.get(urljoin(response.url, response.headers["Location"]))
                continue
            fields = hidden_fields(response.text, "flip-callback")
            if response.status_code == 200 and fields is not None:
                fields["binding"] = self.session_storage.pop(
                    f"flip-binding:{fields.get('state', '')}", ""
                )
                if fields["binding"]:
                    self.session_storage["flip-tab:latest"] = fields["binding"]
                response = self.post(urljoin(response.url, "/callback"), fields)
                continue
            # The callback answers with the landing page itself; its script (flip-tab.js)
            # puts the page's own address in the address bar, as done here.
            own = meta_tags(response.text).get("flip-page-url")
            if own:
                response.url = urljoin(response.url, own)
            return response
        raise RuntimeError("the launch redirected more than 10 times")


def meta_tags(html: str) -> dict[str, str]:
    """The page's <meta name=... content=...> values."""
    return {
        name: unescape(content)
        for name, content in re.findall(r'<meta name="([^"]+)" content="([^"]*)">', html)
    }


def hidden_fields(html: str, form_id: str) -> dict[str, str] | None:
    """The hidden inputs of the form with this id, or None when there is none."""
    form = re.search(rf'<form id="{form_id}"(.*?)</form>', html, re.S)
    if form is None:
        return None
    inputs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1))
    return {name: unescape(value) for name, value in inputs}


@dataclass(frozen=True, slots=True)
class FhirMetrics:
    """Flip's FHIR counters at one moment: requests sent and seconds spent waiting."""

    requests: float
    wait_s: float
    batch_wait_s: float
    token_wait_s: float = 0.0  # its wait on the authorization server's token endpoint

    def __sub__(self, earlier: FhirMetrics) -> FhirMetrics:
        return FhirMetrics(
            self.requests - earlier.requests,
            self.wait_s - earlier.wait_s,
            self.batch_wait_s - earlier.batch_wait_s,
            self.token_wait_s - earlier.token_wait_s,
        )


def scrape_fhir_metrics(flip_url: str) -> FhirMetrics:
    """Read Flip's `/metrics`: its FHIR requests, and its waits on FHIR and for tokens."""
    text = requests.get(f"{flip_url}/metrics", timeout=TIMEOUT_S).text
    total = wait = batch_wait = token_wait = 0.0
    for line in text.splitlines():
        match = _METRIC_LINE.match(line)
        if match is None:
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name == "flip_fhir_requests_total":
            total += value
        elif name == "flip_fhir_request_seconds_sum":
            wait += value
            if 'interaction="batch"' in labels:
                batch_wait += value
        elif name == "flip_token_request_seconds_sum":
            token_wait += value
    return FhirMetrics(total, wait, batch_wait, token_wait)
