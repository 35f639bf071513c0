"""Which character separates the fields: Excel writes ',' or ';' depending on the regional
settings (';' in Belgium), or a tab for "Unicode text".

The header is the one line whose contents we know, so the delimiter is the candidate that
splits it into the most known column names (csv.Sniffer guesses from character frequencies and
is easily fooled by commas inside a remarks cell). Excel's own `sep=;` first line, when
present, decides.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from register.columns import field_for
from register.entities import Entity

CANDIDATES = (",", ";", "\t")
_SEP_LINE = re.compile(r"^sep=(?P<delimiter>.)\s*$")


def shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def sep_line_delimiter(first_line: str) -> str | None:
    """The delimiter a `sep=X` line states (Excel writes and honours it), or None."""
    match = _SEP_LINE.match(first_line)
    return None if match is None else match["delimiter"]


@dataclass(frozen=True)
class Split:
    delimiter: str
    cells: int
    known: int  # cells that name a known column


def split_header(header_line: str, delimiter: str, entity: Entity) -> Split:
    try:
        cells = next(csv.reader([header_line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        cells = []
    known = sum(1 for cell in cells if field_for(entity, cell.strip()) is not None)
    return Split(delimiter, len(cells), known)


def detect(header_line: str, entity: Entity) -> str:
    """The candidate naming the most known columns; on a tie (e.g. a header of unknown names),
    the one giving the most columns; ',' when nothing splits the line."""
    splits = [split_header(header_line, d, entity) for d in CANDIDATES]
    best = max(splits, key=lambda s: (s.known, s.cells))  # max keeps the first of equals
    return best.delimiter if best.cells > 1 else ","


def better_than(header_line: str, delimiter: str, entity: Entity) -> Split | None:
    """Another candidate that finds more known columns than `delimiter` does, for a hint."""
    chosen = split_header(header_line, delimiter, entity)
    others = [split_header(header_line, d, entity) for d in CANDIDATES if d != delimiter]
    best = max(others, key=lambda s: s.known)
    return best if best.known > chosen.known else None
