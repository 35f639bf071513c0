"""From what rows ask for and what is stored to what will change, field by field. Pure: the
database is read before (register/importer.py) and written after."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import ValidationError

from register.edits import RowEdit
from register.entities import EntitySpec, Image
from register.models import RowPlan, row_plan
from register.problems import Problem, ProblemKind
from register.suggest import did_you_mean, suggest


class EditMode(StrEnum):
    UPSERT = "upsert"  # an import: new rows are added, known ones changed
    CREATE = "create"  # `authority add`: the row must be new
    UPDATE = "update"  # `authority set`: the row must exist


@dataclass(frozen=True)
class ParsedEdits:
    """Rows people asked for (from a file or from options), what was wrong with the ones that
    could not be read, and the member ids they name (line, id), checked against the register
    even on rows with other problems, so one run reports everything."""

    source: str
    spec: EntitySpec
    rows: list[RowEdit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    member_refs: list[tuple[int | None, str]] = field(default_factory=list)
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> name people wrote

    def problem(
        self,
        line: int | None,
        name: str | None,
        message: str,
        kind: ProblemKind = ProblemKind.INVALID,
    ) -> Problem:
        column = None if name is None else self.columns.get(name, name)
        return Problem(self.source, line, column, message, kind)


def empty_image(spec: EntitySpec) -> Image:
    return {name: (() if name in spec.list_fields else None) for name in spec.image_fields}


def plan_rows(
    parsed: ParsedEdits,
    stored: Mapping[str, Image],
    mode: EditMode = EditMode.UPSERT,
    known: Collection[str] = (),
) -> tuple[list[RowPlan], list[Problem]]:
    """Each row's stored image merged with what the row sets and clears, validated whole.
    `known` are every id of the register's rows of this kind: a row to change (UPDATE) that
    is not stored is reported with the ones nearest to it."""
    spec = parsed.spec
    plans: list[RowPlan] = []
    problems: list[Problem] = []
    for edit in parsed.rows:
        before = stored.get(edit.id)
        if before is None and mode is EditMode.UPDATE:
            close = suggest(edit.id, known)
            message = (
                f"unknown {spec.id_noun} {edit.id!r}; {did_you_mean(close)}"
                if close
                else f"no {spec.noun} {edit.id!r} in the register; add it first"
            )
            problems.append(parsed.problem(edit.line, "id", message, ProblemKind.NOT_FOUND))
            continue
        if before is not None and mode is EditMode.CREATE:
            problems.append(
                parsed.problem(
                    edit.line,
                    "id",
                    f"{spec.noun} {edit.id!r} is already in the register; change it with "
                    "`starter.py register authority set`",
                    ProblemKind.CONFLICT,
                )
            )
            continue
        merged = {**(before or empty_image(spec)), **edit.values, "id": edit.id}
        for name in edit.cleared:
            merged[name] = () if name in spec.list_fields else None
        if before is None:
            # `is None`, not falsiness: "nee" and 0 votes are values.
            missing = [
                name for name in spec.fields if name in spec.required and merged[name] is None
            ]
            if missing:
                problems.extend(
                    parsed.problem(
                        edit.line,
                        name,
                        f"required for a new {spec.noun} ({edit.id!r} is not in the register "
                        "yet); fill it in",
                    )
                    for name in missing
                )
                continue
        try:
            after = spec.validated(merged)
        except ValidationError as exc:
            problems.extend(
                parsed.problem(
                    edit.line,
                    str(error["loc"][0]) if error["loc"] else None,
                    str(error["msg"]).removeprefix("Value error, "),
                )
                for error in exc.errors()
            )
            continue
        plans.append(row_plan(edit.id, edit.line, before, after))
    return plans, problems


def guarded_changes(spec: EntitySpec, rows: Sequence[RowPlan]) -> list[tuple[RowPlan, str]]:
    """(row, field) for every change of a field a live trajectory depends on."""
    return [
        (row, change.field)
        for row in rows
        if row.before is not None and row.after is not None
        for change in row.changes
        if change.field in spec.guarded_by_trajectory
    ]
