"""Read a CSV file of fiches or authorities, as Excel exports it, into validated row edits,
reporting every problem at once as `FILE:LINE: column COLUMN: message`.

What a file may look like (docs/register.md has the whole story):

* UTF-8, with or without the byte-order mark Excel writes. Fields separated by ',', ';' or a
  tab: found from the header (the candidate that names the most known columns), or from
  Excel's `sep=;` first line; `--delimiter` overrides both.
* The first line is the header. Column names in English (the field names) or in Dutch (the
  fiche's headings: naam, aanspreekpunt, domein, ...), any case, accents optional. Every field
  of the kind of file must be there (a fiche file may add `members` and `host`); an unknown
  name is reported with the nearest known ones.
* An empty cell keeps what is stored; `-` empties the field; anything else sets it. A new row
  must fill in the required fields (fiches: id, name, kind).
* Dates day first (1/01/2015, 01.01.2015, 1-1-2015) or ISO; yes/no as ja/nee (or WAAR/ONWAAR);
  members as authority ids separated by ';'.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

from register import delimiter as delimiters
from register.columns import field_for, known_names, nearest
from register.edits import CLEAR_MARKER, member_ids, read_cells
from register.entities import AUTHORITIES, COOPERATIONS, MEMBERS, EntitySpec
from register.planner import ParsedEdits
from register.problems import ChangeRefused, Problem
from schemas.register import HOST

# Far above any real register (183 cooperations), low enough to refuse a wrong file quickly.
MAX_FILE_BYTES = 20 * 1024 * 1024

# The columns a file must have: every field people supply. An optional column is one that,
# when absent, leaves the stored value alone for every row (members and host of a fiche: the
# host is not a heading of the 2013/2017 fiche, so exports made before it existed still read).
_OPTIONAL_COLUMNS = {COOPERATIONS.entity: frozenset({MEMBERS, HOST})}


def _decode(source: str, path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ChangeRefused(
                [
                    Problem(
                        source, None, None, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"
                    )
                ]
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ChangeRefused([Problem(source, None, None, f"cannot read: {exc.strerror}")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise ChangeRefused(
            [
                Problem(
                    source,
                    line,
                    None,
                    f"not UTF-8 (byte 0x{byte}); in Excel save as 'CSV UTF-8 (door komma's "
                    "gescheiden)'",
                )
            ]
        ) from None
    if not text.strip():
        raise ChangeRefused(
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
            raise ChangeRefused(
                [Problem(source, start, None, f"malformed CSV: {message}")]
            ) from None
        if any(cell.strip() for cell in cells):
            records.append((start, cells))
        start = reader.line_num + 1


@dataclass(frozen=True)
class _Header:
    line: int
    names: list[str]  # as written, stripped
    fields: list[str | None]  # the field each column means; None for an unknown name


class DelimiterOrigin(StrEnum):
    DETECTED = "detected"
    OPTION = "option"  # --delimiter
    SEP_LINE = "sep-line"  # Excel's `sep=;` first line


@dataclass(frozen=True)
class _Delimiter:
    char: str
    origin: DelimiterOrigin
    header_line: int  # 2 after a `sep=` line, so every line keeps its number in the file


def _delimiter_for(lines: list[str], spec: EntitySpec, given: str | None) -> _Delimiter:
    stated = delimiters.sep_line_delimiter(lines[0])
    header_line = 1 if stated is None else 2
    if given is not None:
        return _Delimiter(given, DelimiterOrigin.OPTION, header_line)
    if stated is not None:
        return _Delimiter(stated, DelimiterOrigin.SEP_LINE, header_line)
    return _Delimiter(delimiters.detect(lines[0], spec.entity), DelimiterOrigin.DETECTED, 1)


def _header_problems(
    source: str, spec: EntitySpec, header: _Header, header_text: str, chosen: _Delimiter
) -> list[Problem]:
    problems = []
    seen: dict[str, str] = {}
    for index, (name, field) in enumerate(zip(header.names, header.fields, strict=True)):
        shown = _cut(name) or f"{index + 1} (empty name)"
        if field is None:
            close = nearest(spec.entity, name)
            hint = (
                f"did you mean {' or '.join(close)}?"
                if close
                else f"known: {', '.join(known_names(spec.entity))}"
            )
            problems.append(Problem(source, header.line, shown, f"unknown column; {hint}"))
        elif field in seen:
            what = "column appears twice" if seen[field] == name else f"also named {seen[field]!r}"
            problems.append(
                Problem(source, header.line, shown, f"{what} in the header (field {field})")
            )
        else:
            seen[field] = name
    missing = [
        name
        for name in spec.fields
        if name not in seen and name not in _OPTIONAL_COLUMNS.get(spec.entity, ())
    ]
    problems.extend(
        Problem(source, header.line, name, "required column missing from the header")
        for name in missing
    )
    if missing:
        separator_hint = _delimiter_hint(spec, header_text, chosen)
        if separator_hint:
            # With the wrong separator every column is "missing": the hint alone says why.
            return [Problem(source, header.line, None, separator_hint)]
    return problems


def _cut(name: str, limit: int = 60) -> str:
    return name if len(name) <= limit else name[:limit] + "..."


def _delimiter_hint(spec: EntitySpec, header_text: str, chosen: _Delimiter) -> str | None:
    """When columns are missing, whether another separator would have found them."""
    used = delimiters.shown(chosen.char)
    better = delimiters.better_than(header_text, chosen.char, spec.entity)
    if better is not None:
        why = {
            DelimiterOrigin.OPTION: f"drop --delimiter {used} or pass",
            DelimiterOrigin.SEP_LINE: f"the first line says sep={chosen.char}; fix it or pass",
            DelimiterOrigin.DETECTED: "pass",
        }[chosen.origin]
        arg = "tab" if better.delimiter == "\t" else f"'{better.delimiter}'"
        return (
            f"the file looks separated by {delimiters.shown(better.delimiter)}, not {used} "
            f"({better.known} known columns that way); {why} --delimiter {arg}"
        )
    if delimiters.split_header(header_text, chosen.char, spec.entity).cells == 1:
        return (
            f"the header is one single column when split by {used}; if the file uses another "
            "separator, pass it with --delimiter"
        )
    return None


def parse_file(
    path: Path, spec: EntitySpec, *, delimiter: str | None = None, source: str | None = None
) -> ParsedEdits:
    """Read every row. Problems with the file as a whole (unreadable, not UTF-8, malformed CSV,
    bad header) raise ChangeRefused at once; row problems are collected in the result."""
    name = str(path) if source is None else source
    text = _decode(name, path)
    lines = [line.rstrip("\r") for line in text.split("\n")]
    chosen = _delimiter_for(lines, spec, delimiter)
    records = [r for r in _records(name, text, chosen.char) if r[0] >= chosen.header_line]
    if not records:
        raise ChangeRefused([Problem(name, None, None, "empty file; expected a header line")])
    line, raw_header = records[0]
    names = [cell.strip() for cell in raw_header]
    header = _Header(line, names, [field_for(spec.entity, n) for n in names])
    problems = _header_problems(name, spec, header, lines[line - 1], chosen)
    if problems:
        raise ChangeRefused(problems)
    if len(records) == 1:
        raise ChangeRefused([Problem(name, None, None, "no rows after the header")])
    columns = {f: n for n, f in zip(header.names, header.fields, strict=True) if f is not None}
    parsed = ParsedEdits(source=name, spec=spec, columns=columns)
    first_line: dict[str, int] = {}
    for row_line, cells in records[1:]:
        _parse_row(parsed, header, row_line, cells, first_line)
    return parsed


def _parse_row(
    parsed: ParsedEdits,
    header: _Header,
    line: int,
    cells: list[str],
    first_line: dict[str, int],
) -> None:
    width = len(header.names)
    if len(cells) != width:
        column = header.names[len(cells)] if len(cells) < width else str(width + 1)
        what = "missing" if len(cells) < width else "extra value"
        parsed.problems.append(
            Problem(
                parsed.source,
                line,
                column,
                f"{what}: the row has {len(cells)} values, the header {width} columns",
            )
        )
        return
    by_field = {f: cell for f, cell in zip(header.fields, cells, strict=True) if f is not None}
    if MEMBERS in by_field:
        parsed.member_refs.extend((line, member) for member in member_ids(by_field[MEMBERS]))
    raw_id = by_field["id"].strip()
    problems: dict[str, str] = {}
    if not raw_id or raw_id == CLEAR_MARKER:
        problems["id"] = "every row needs the register id of its " + parsed.spec.noun
    else:
        try:
            parsed.spec.adapter("id").validate_python(raw_id)
        except ValidationError as exc:
            problems["id"] = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    if raw_id in first_line:
        problems["id"] = f"duplicate id {raw_id!r} (first on line {first_line[raw_id]})"
    elif raw_id:
        first_line[raw_id] = line
    edit, cell_problems = read_cells(parsed.spec, raw_id, line, by_field)
    problems.update(cell_problems)
    parsed.problems.extend(parsed.problem(line, f, message) for f, message in problems.items())
    if edit is not None and not problems:
        parsed.rows.append(edit)


def parse_fiches(
    path: Path, *, delimiter: str | None = None, source: str | None = None
) -> ParsedEdits:
    return parse_file(path, COOPERATIONS, delimiter=delimiter, source=source)


def parse_authorities(
    path: Path, *, delimiter: str | None = None, source: str | None = None
) -> ParsedEdits:
    return parse_file(path, AUTHORITIES, delimiter=delimiter, source=source)
