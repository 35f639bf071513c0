"""The LBLOD publication profiles a page can be checked against, and where their shapes are.

Kept apart from lblod/validate.py so that naming a profile (the command line's `--check`
choices) does not load the SHACL validator and the RDF stack.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

SHAPES_DIR = Path(__file__).parent / "shapes"


class Profile(StrEnum):
    AGENDA = "agenda"
    BESLUITENLIJST = "besluitenlijst"
    NOTULEN = "notulen"

    @property
    def shapes_file(self) -> Path:
        return SHAPES_DIR / f"besluit-publicatie-{self.value}.ttl"
