"""The EHR's SMART style (`smart_style_url`) as a stylesheet for Flip's pages.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#styling. Fetched
server-side (the EHR seldom allows cross-origin reads), only from the EHR's own origin,
and every value is checked against a strict pattern before it reaches CSS.
"""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import urlsplit

import requests
from markupsafe import Markup

STYLE_TTL_S = 600.0
_COLOR = re.compile(r"^(#[0-9a-fA-F]{3,8}|rgba?\([0-9.,\s%]+\))$")
_DIMENSION = re.compile(r"^[0-9.]+(px|em|rem|%)?$")
_FONT = re.compile(r"^[A-Za-z0-9 ,'\"-]{1,200}$")
# SMART style property -> Flip's CSS custom property, and how to check its value.
PROPERTIES = {
    "color_background": ("--surface", _COLOR),
    "color_text": ("--text", _COLOR),
    "color_highlight": ("--accent", _COLOR),
    "color_error": ("--error", _COLOR),
    "dim_border_radius": ("--radius", _DIMENSION),
    "dim_font_size": ("font-size", _DIMENSION),
    "font_family_body": ("font-family", _FONT),
}


class EhrStyles:
    """Fetches and caches SMART style files as CSS."""

    def __init__(self, http: requests.Session) -> None:
        self._http = http
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def css(self, style_url: str, iss: str) -> str:
        """CSS for the style at `style_url`; empty when it is elsewhere or unreadable."""
        if _origin(style_url) != _origin(iss):
            return ""
        with self._lock:
            cached = self._cache.get(style_url)
        if cached and time.monotonic() - cached[0] < STYLE_TTL_S:
            return cached[1]
        try:
            response = self._http.get(style_url, timeout=5)
            style = response.json() if response.ok else {}
        except (requests.RequestException, ValueError):
            style = {}
        css = style_to_css(style if isinstance(style, dict) else {})
        with self._lock:
            self._cache[style_url] = (time.monotonic(), css)
        return css


def inline_css(css: str) -> Markup:
    """`css` for a `<style>` element of a page, unescaped so quoted font names survive.

    Only checked values reach it, and no check admits `<`; were one to slip through, it
    could close the element, so the whole rule is dropped rather than trusted.
    """
    return Markup(css if "<" not in css else "")  # noqa: S704 (checked CSS, no '<')


def style_to_css(style: dict[str, object]) -> str:
    """A `:root` rule from the checked SMART style values."""
    declarations = []
    for name, (css_property, pattern) in PROPERTIES.items():
        value = style.get(name)
        if isinstance(value, str) and pattern.match(value.strip()):
            declarations.append(f"  {css_property}: {value.strip()};")
    return ":root {\n" + "\n".join(declarations) + "\n}\n" if declarations else ""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
