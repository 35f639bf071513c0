"""The Dutch notices a trajectory sends (subject, body), built from typed facts only.

Workflow code calls these inside Temporal's sandbox, so they are pure: no I/O, no clock, no
environment, only the standard library and phrasing/ (which needs schemas/). Dates are written
out ("1 december 2020"), authorities are named by the caller (never register ids), and no
English reason is put inside a Dutch sentence: a rejection says how the parties decided, not
the rule's log text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from phrasing.dates import format_date
from phrasing.verdicts import PartyOutcome, tally
from phrasing.words import enumerate_nl

Notice = tuple[str, str]  # (subject, body)


def _trajectory(cooperation_name: str) -> str:
    # The report's own wording for a trajectory, so a notice and the report name it alike.
    return f"het traject om {cooperation_name} in te kantelen in DVV Midwest"


def reminder(step_title: str, cooperation_name: str, due: date) -> Notice:
    """Sent some days before a task, decision or round is due."""
    when = format_date(due)
    return (
        f"Herinnering: {step_title} (uiterlijk {when})",
        f"In {_trajectory(cooperation_name)} staat “{step_title}” nog open. Graag uw actie "
        f"uiterlijk op {when}.",
    )


def escalation(step_title: str, cooperation_name: str, due: date) -> Notice:
    """Sent when a step is still open some days after its due date (to the coordinator and to
    whoever the step waits for)."""
    return (
        f"Termijn overschreden: {step_title}",
        f"In {_trajectory(cooperation_name)} is de termijn voor “{step_title}” op "
        f"{format_date(due)} verstreken; de stap staat nog open. Graag zo snel mogelijk uw "
        "actie. De coördinator is op de hoogte.",
    )


def round_closed(
    step_title: str, cooperation_name: str, due: date, silent: Sequence[str]
) -> Notice:
    """The round's deadline passed; `silent` are the names of the parties without a decision,
    whose silence now counts as abstention."""
    return (
        f"Termijn verstreken: {step_title}",
        f"In {_trajectory(cooperation_name)} is de termijn voor “{step_title}” op "
        f"{format_date(due)} verstreken zonder beslissing van {enumerate_nl(silent)}. Dat telt "
        "als onthouding.",
    )


def renegotiation(
    step_title: str, cooperation_name: str, parties: Sequence[PartyOutcome] = ()
) -> Notice:
    """A decision or round did not pass. For a round, `parties` tells how each party stands
    (named); a single body's decision needs none."""
    how = f": {tally(parties)}" if parties else ""
    return (
        f"Heronderhandeling: {step_title}",
        f"In {_trajectory(cooperation_name)} werd “{step_title}” niet goedgekeurd{how}. Wijzig "
        "het voorstel of stop het traject.",
    )


def effective_date_needed(cooperation_name: str, planned: date) -> Notice:
    """The approvals came after the planned effective date: a new one must be set."""
    return (
        f"Nieuwe ingangsdatum nodig: {cooperation_name}",
        f"De geplande ingangsdatum van {format_date(planned)} voor {_trajectory(cooperation_name)} "
        "is voorbij. Leg een nieuwe ingangsdatum vast.",
    )


def round_revised(
    step_title: str,
    cooperation_name: str,
    authority_name: str,
    session: date,
    before: str,
    after: str,
) -> Notice:
    """A decision taken by the deadline was recorded within the recording grace: the closed
    round's result is evaluated again (`before` and `after` are "approved" or "rejected")."""
    if before == after:
        result = "De uitslag blijft dezelfde."
    elif after == "approved":
        result = "De ronde is alsnog goedgekeurd."
    else:
        result = "De goedkeuring blijft niet overeind: beslis hoe het traject verder gaat."
    return (
        f"Uitslag herzien: {step_title}",
        f"In {_trajectory(cooperation_name)} werd de beslissing van {authority_name} over "
        f"“{step_title}” tijdig genomen (zitting van {format_date(session)}) maar na de termijn "
        f"geregistreerd. De uitslag is herzien. {result}",
    )
