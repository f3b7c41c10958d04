"""Every word of the pre-visit form has its Spanish, and the compiled catalog Flip serves
is the one in the .po file (`make translations` rebuilds both)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "smart_app" / "translations" / "es" / "LC_MESSAGES"
METHODS = [
    ("smart_app/previsit/**.py", "python"),
    ("smart_app/previsit/templates/**.html", "jinja2"),
    ("smart_app/errors.py", "python"),
    ("smart_app/templates/error.html", "jinja2"),
    ("smart_app/session/templates/session/launch_redirect.html", "jinja2"),
]


def test_every_word_of_the_form_has_its_spanish() -> None:
    spoken = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT), METHODS, keywords={"_": None, "ngettext": (1, 2)}
        )
    }
    with (CATALOG / "messages.po").open("rb") as po:
        spanish = {m.id: _forms(m.string) for m in read_po(po) if m.id}
    assert spoken, "no words found: the extraction paths are wrong"
    assert any(isinstance(m, tuple) for m in spoken), "no plural words found"
    # A plural message needs every one of Spanish's forms.
    missing = sorted(str(m) for m in spoken if not all(spanish.get(m) or ("",)))
    assert missing == []


def test_the_compiled_catalog_is_the_po_file() -> None:
    with (CATALOG / "messages.po").open("rb") as po, (CATALOG / "messages.mo").open("rb") as mo:
        source = {_forms(m.id): _forms(m.string) for m in read_po(po) if m.id}
        compiled = {_forms(m.id): _forms(m.string) for m in read_mo(mo) if m.id}
    assert compiled == source


def _forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    # One string, or a plural message's forms (a tuple or a list, as Babel reads them):
    # its ids (singular, plural) or its translations.
    return (string,) if isinstance(string, str) else tuple(string)
