"""Static files: each URL names its content, so browsers may keep it for a year."""

from __future__ import annotations

import re

from tests.app.conftest import MakeApp


def test_pages_link_versioned_static_files_that_browsers_keep(make_app: MakeApp) -> None:
    client = make_app(database_url="sqlite://").test_client()
    page = client.get("/launch?iss=https://unknown.example/fhir").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert any(url.startswith("/static/flip.css?v=") for url in urls), page[:500]
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        served = client.get(url)
        assert served.status_code == 200
        assert "max-age=31536000" in served.headers["Cache-Control"]
        served.close()
