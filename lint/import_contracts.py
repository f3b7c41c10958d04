"""An import-linter contract type: a package may import only what its list allows.

import-linter's `forbidden` contract names what may not be imported; a pure package is
better described by what it may import, so a new dependency is refused until someone
adds it to the list on purpose. Only the package's own direct imports are checked: what
an allowed library imports in turn is that library's business.
"""

from __future__ import annotations

import sys
from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AllowedImportsContract(Contract):
    """`source_modules` import only the standard library, themselves and `allowed_modules`."""

    type_name = "allowed_imports"

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        """Every direct import of a source module, checked against the allowed list."""
        sources = [str(m) for m in self.source_modules]  # type: ignore[attr-defined]
        allowed = {str(m) for m in self.allowed_modules}  # type: ignore[attr-defined]
        refused: list[dict[str, Any]] = []
        for source in sources:
            for importer in sorted({source, *graph.find_descendants(source)}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if not _allowed(imported, source, allowed):
                        details = graph.get_import_details(importer=importer, imported=imported)
                        lines = sorted({d["line_number"] for d in details})
                        refused.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not refused, metadata={"refused": refused})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """Name each import that is not on the list, with its line numbers."""
        for found in check.metadata["refused"]:
            lines = ", ".join(f"l.{n}" for n in found["lines"])
            output.print_error(f"{found['importer']} imports {found['imported']} ({lines})")
            output.new_line()


def _allowed(imported: str, source: str, allowed: set[str]) -> bool:
    top = imported.split(".")[0]
    return (
        top in sys.stdlib_module_names
        or imported == source
        or imported.startswith(f"{source}.")
        or any(imported == a or imported.startswith(f"{a}.") for a in allowed)
    )
