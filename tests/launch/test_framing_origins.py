"""Which EHR pages may frame Flip: each registration's origins, checked when loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launch.registrations import RegistrationError, load_registrations


def registrations_file(tmp_path: Path, *entries: dict[str, object]) -> Path:
    path = tmp_path / "registrations.json"
    path.write_text(json.dumps({"registrations": list(entries)}))
    return path


def test_an_ehr_frames_flip_from_its_fhir_origin_unless_it_names_its_chart_origins(
    tmp_path: Path,
) -> None:
    found = load_registrations(
        registrations_file(
            tmp_path,
            {"iss": "https://fhir.example-ehr.org/r4", "client_id": "flip"},
            {
                "iss": "https://api.other-ehr.com/fhir",
                "client_id": "flip",
                "frame_origins": ["https://chart.other-ehr.com", "https://other-ehr.com:8443"],
            },
        )
    )
    assert found.framing_origins() == (
        "https://chart.other-ehr.com",
        "https://fhir.example-ehr.org",
        "https://other-ehr.com:8443",
    )


@pytest.mark.parametrize(
    "origins",
    [
        "https://chart.example.org",  # not a list
        ["https://chart.example.org/path"],
        ["https://chart.example.org; script-src *"],  # would inject into the CSP header
        ["*"],
        ["javascript:alert(1)"],
    ],
)
def test_frame_origins_must_be_plain_origins(tmp_path: Path, origins: object) -> None:
    entry = {"iss": "https://fhir.example.org", "client_id": "flip", "frame_origins": origins}
    with pytest.raises(RegistrationError, match="frame_origins"):
        load_registrations(registrations_file(tmp_path, entry))
