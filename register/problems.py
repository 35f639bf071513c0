"""Why a change to the register is refused: every problem found, each with where it is.

One exception for every refusal (a bad file, a bad option, a live trajectory in the way), so
callers catch one thing and still tell invalid input from a conflict with what is stored:
`ProblemKind` is data, never read from the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ProblemKind(StrEnum):
    INVALID = "invalid"  # the input itself is wrong: fix the file or the option
    NOT_FOUND = "not-found"  # the row to change or undo is not there
    CONFLICT = "conflict"  # the input is fine, but what is stored forbids it (e.g. a trajectory)


@dataclass(frozen=True)
class Problem:
    source: str  # the file name, or the command for options
    line: int | None
    column: str | None  # as the user wrote it: a header name or an option
    message: str
    kind: ProblemKind = ProblemKind.INVALID

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        column = "" if self.column is None else f"column {self.column}: "
        return f"{where}: {column}{self.message}"


class ChangeRefused(Exception):
    """Nothing was changed; `problems` lists every reason found, in line order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.column or ""))
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def kind(self) -> ProblemKind:
        """The refusal as a whole: invalid input if anything is invalid (fix that first), else
        not found if something is missing, else a conflict with what is stored."""
        kinds = {p.kind for p in self.problems}
        for kind in (ProblemKind.INVALID, ProblemKind.NOT_FOUND):
            if kind in kinds:
                return kind
        return ProblemKind.CONFLICT
