"""Read a CSV file of fiches into validated `CooperationFiche`s, reporting every problem.

Format (UTF-8, a byte-order mark as Excel writes it is fine; comma-separated by default):

* The first line is the header. It must name every fiche field, in any order:
  id, name, kind, contact_point, domain, core_task, cooperation_type,
  inter_organisational_form, legal_form, partners, financing, initiator, founding_date,
  municipality_count, area, seat, staff_count, remarks.
  Requiring all of them means a forgotten column can never silently blank a stored field.
* An optional `members` column lists authority ids separated by ';' (e.g. `roeselare;izegem`).
  Present: the row's members replace the stored ones (an empty cell removes them all).
  Absent: stored members are left as they are.
* `id` is the register id (lowercase letters, digits, '-'); `kind` one of
  projectvereniging, interlokale-vereniging, shared-service, regional-role, informal-overleg;
  `founding_date` YYYY-MM-DD; counts are whole numbers >= 0. Empty cells mean "not known".
* Status and integration date are not imported: the trajectories maintain them.

Problems are reported as `FILE:LINE: column COLUMN: message`, for every bad row at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.register import FICHE_FIELDS, CooperationFiche

MEMBERS_COLUMN = "members"
MEMBERS_SEPARATOR = ";"
KNOWN_COLUMNS = (*FICHE_FIELDS, MEMBERS_COLUMN)
# Far above any real register (183 cooperations), low enough to refuse a wrong file quickly.
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        column = "" if self.column is None else f"column {self.column}: "
        return f"{where}: {column}{self.message}"


class CsvImportError(Exception):
    """The file cannot be imported; `problems` lists every reason found, in line order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.column or ""))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class FicheRow:
    line: int  # where the record starts in the file, for messages
    fiche: CooperationFiche


def _decode(source: str, path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CsvImportError(
                [
                    Problem(
                        source, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"
                    )
                ]
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CsvImportError(
            [Problem(source, None, None, f"cannot read: {exc.strerror}")]
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise CsvImportError(
            [Problem(source, line, None, f"not UTF-8 (byte 0x{byte}); save the file as UTF-8")]
        ) from None
    if not text.strip():
        raise CsvImportError(
            [Problem(source, None, None, "empty file; the first line must be the header")]
        )
    return text


def _records(source: str, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(first line, cells) of every non-blank record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = (
                    f"a field is longer than {csv.field_size_limit()} characters "
                    "(an unclosed quote?)"
                )
            raise CsvImportError(
                [Problem(source, start, None, f"malformed CSV: {message}")]
            ) from None
        if any(cell.strip() for cell in cells):
            records.append((start, cells))
        start = reader.line_num + 1


def _check_header(source: str, line: int, header: list[str]) -> list[Problem]:
    problems = []
    for index, name in enumerate(header):
        if name not in KNOWN_COLUMNS:
            shown = name or f"{index + 1} (empty name)"
            problems.append(
                Problem(source, line, shown, f"unknown column; known: {', '.join(KNOWN_COLUMNS)}")
            )
        elif name in header[:index]:
            problems.append(Problem(source, line, name, "column appears twice in the header"))
    problems.extend(
        Problem(source, line, name, "required column missing from the header")
        for name in FICHE_FIELDS
        if name not in header
    )
    return problems


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] != "value_error" and isinstance(value, str):
        message += f" (got {value[:40]!r})"
    return message


def _row_problems(
    source: str, line: int, header: list[str], cells: list[str]
) -> tuple[CooperationFiche | None, list[Problem]]:
    if len(cells) < len(header):
        missing = header[len(cells)]
        return None, [
            Problem(
                source,
                line,
                missing,
                f"missing: the row has {len(cells)} values, the header {len(header)} columns",
            )
        ]
    if len(cells) > len(header):
        return None, [
            Problem(
                source,
                line,
                str(len(header) + 1),
                f"extra value: the row has {len(cells)} values, the header {len(header)} columns",
            )
        ]
    data: dict[str, Any] = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    if MEMBERS_COLUMN in data:
        parts = data[MEMBERS_COLUMN].split(MEMBERS_SEPARATOR)
        data[MEMBERS_COLUMN] = tuple(part.strip() for part in parts if part.strip())
    try:
        return CooperationFiche.model_validate(data), []
    except ValidationError as exc:
        return None, [
            Problem(source, line, str(error["loc"][0]) if error["loc"] else None, _message(error))
            for error in exc.errors()
        ]


@dataclass(frozen=True)
class ParsedFile:
    """The rows that validated, the problems of the others, and every member reference
    (line, authority id) so unknown authorities can be reported even on otherwise bad rows."""

    source: str
    rows: list[FicheRow]
    problems: list[Problem]
    member_refs: list[tuple[int, str]]


def _member_refs(line: int, header: list[str], cells: list[str]) -> list[tuple[int, str]]:
    if MEMBERS_COLUMN not in header or len(cells) != len(header):
        return []
    cell = cells[header.index(MEMBERS_COLUMN)]
    return [(line, part.strip()) for part in cell.split(MEMBERS_SEPARATOR) if part.strip()]


def parse_fiches(path: Path, *, delimiter: str = ",", source: str | None = None) -> ParsedFile:
    """Validate every row. Problems with the file as a whole (unreadable, not UTF-8, malformed
    CSV, bad header) raise CsvImportError at once; row problems are collected in the result."""
    name = str(path) if source is None else source
    records = _records(name, _decode(name, path), delimiter)
    if not records:
        raise CsvImportError([Problem(name, None, None, "empty file; expected a header line")])
    header_line, raw_header = records[0]
    header = [cell.strip() for cell in raw_header]
    header_problems = _check_header(name, header_line, header)
    if header_problems:
        raise CsvImportError(header_problems)
    if len(records) == 1:
        raise CsvImportError([Problem(name, None, None, "no rows after the header")])
    parsed = ParsedFile(name, [], [], [])
    first_line: dict[str, int] = {}
    for line, cells in records[1:]:
        fiche, row_problems = _row_problems(name, line, header, cells)
        parsed.problems.extend(row_problems)
        parsed.member_refs.extend(_member_refs(line, header, cells))
        raw_id = cells[header.index("id")].strip() if len(cells) == len(header) else ""
        if raw_id in first_line:
            message = f"duplicate id {raw_id!r} (first on line {first_line[raw_id]})"
            parsed.problems.append(Problem(name, line, "id", message))
        elif raw_id:
            first_line[raw_id] = line
        if fiche is not None:
            parsed.rows.append(FicheRow(line, fiche))
    return parsed


def unknown_members(parsed: ParsedFile, known: set[str]) -> list[Problem]:
    """A problem for every member id that is not an authority of the register."""
    return [
        Problem(
            parsed.source,
            line,
            MEMBERS_COLUMN,
            f"unknown authority id {member!r}; `starter.py register authorities` lists them",
        )
        for line, member in parsed.member_refs
        if member not in known
    ]
