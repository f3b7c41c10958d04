"""Warm-up: a started Flip has done the first requests' one-time work before anyone waits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from smart_app.core.config import load_settings
from tests.app.conftest import MakeApp

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "fhir-examples"


def compiled_templates(app: Flask) -> set[str]:
    return {name for _loader, name in app.jinja_env.cache}


def test_a_warmed_up_flip_has_compiled_every_page_before_its_first_request(
    make_app: MakeApp,
) -> None:
    app = make_app(warm_up=True)
    pages = set(app.jinja_env.list_templates(extensions=["html"]))
    assert {"visit/visit.html", "previsit/form.html", "team/panel.html"} <= pages
    assert compiled_templates(app) == pages
    # A test app compiles on first use, as it always did: hundreds of apps stay cheap.
    assert compiled_templates(make_app()) == set()


@pytest.mark.parametrize(
    ("env", "variable", "warms_up"),
    [
        ("production", None, True),
        ("development", None, True),
        ("testing", None, False),
        ("production", "false", False),
        ("testing", "true", True),
    ],
)
def test_warm_up_is_on_except_in_tests_unless_flip_warm_up_says(
    monkeypatch: pytest.MonkeyPatch, env: str, variable: str | None, warms_up: bool
) -> None:
    if variable is None:
        monkeypatch.delenv("FLIP_WARM_UP", raising=False)
    else:
        monkeypatch.setenv("FLIP_WARM_UP", variable)
    secrets = {"secret_key": "s", "token_encryption_key": "k" * 43 + "="}
    assert load_settings({"env": env, **secrets}).warms_up is warms_up


# Run in a fresh interpreter: this process has imported models in earlier tests.
VALIDATE_AFTER_LOADING = """
import json, sys
from pathlib import Path
from fhir.resources.R4B import get_fhir_model_class
from fhir_mappings.fields import VALIDATED_TYPES, load_models

load_models()
before = set(sys.modules)
for path in sorted(Path(sys.argv[1]).glob("*.json")):
    resource = json.loads(path.read_text("utf-8"))
    # A contained resource of another kind (a CareTeam, a ServiceRequest) is loaded when
    # first seen: loading every kind of R4 would take a second and 190 modules per worker.
    contained = resource.get("contained", [])
    resource["contained"] = [c for c in contained if c["resourceType"] in VALIDATED_TYPES]
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
print(json.dumps(sorted(name for name in set(sys.modules) - before if name.startswith("fhir"))))
"""


def test_after_loading_the_models_validating_real_resources_imports_none() -> None:
    run = subprocess.run(  # noqa: S603 (this interpreter, our own script)
        [sys.executable, "-c", VALIDATE_AFTER_LOADING, str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    # The official care plan, note, observation, answer and related person: every element
    # model they need (Period, Annotation, a backbone element...) was loaded at start,
    # as were those of a contained Goal or Patient.
    assert json.loads(run.stdout) == []
