"""Extract the pre-visit form's words, merge them into the Spanish catalog, and compile it.

Run by `make translations` after changing a translatable string; tests/app/test_translations.py
fails when a word has no Spanish or the compiled catalog is out of date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "smart_app" / "translations"
POT = ROOT / "build" / "messages.pot"


def main() -> None:
    """Extract, update and compile (pybabel, from Babel)."""
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    POT.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            *pybabel,
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-o",
            str(POT),
            str(ROOT),
        ],
        check=True,
    )
    subprocess.run(
        [
            *pybabel,
            "update",
            "-i",
            str(POT),
            "-d",
            str(CATALOG),
            "-l",
            "es",
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        ],
        check=True,
    )
    subprocess.run([*pybabel, "compile", "-d", str(CATALOG), "--statistics"], check=True)


if __name__ == "__main__":
    main()
