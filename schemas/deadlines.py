"""Deadline rules and the catalogue of legal lead times (domain brief, "Deadline catalogue").

Every number here is a default that a trajectory may override; none is a constant of the law
as far as this system is concerned. Pure data: workflows import this module.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Anchors a workflow can resolve to a date. "step:<id>" is the day that step completed; the id
# follows the register-id format of schemas.common.RegisterId.
FIXED_ANCHORS: frozenset[str] = frozenset({"start", "planned-av-date", "effective-date"})
STEP_ANCHOR_PREFIX = "step:"
_STEP_ANCHOR = re.compile(r"^step:([a-z0-9][a-z0-9-]{0,62})$")


def _anchor(value: str) -> str:
    if value in FIXED_ANCHORS or _STEP_ANCHOR.match(value):
        return value
    raise ValueError(
        "anchor must be one of 'start', 'planned-av-date', 'effective-date' or "
        f"'step:<step-id>' with a register id (got {value[:80]!r})"
    )


Anchor = Annotated[str, AfterValidator(_anchor)]


class DeadlineUnit(StrEnum):
    CALENDAR_DAYS = "calendar-days"
    WORKING_DAYS = "working-days"  # Monday to Friday, Belgian public holidays excluded
    WEEKS = "weeks"  # 7 calendar days each


class DeadlineRule(BaseModel):
    """A date computed from an anchor date: `offset` units after (or, if negative, before) it.

    Counting follows the Belgian rule that a period starts the day after the event: day 1 of
    "30 days after A" is A + 1, so the period ends on A + 30. Negative offsets count back the
    same way: "-10 working days before A" is the latest day that still leaves 10 working days
    before A (day 1 is the day before A). See rules.deadlines.deadline_for.
    """

    model_config = ConfigDict(frozen=True)

    anchor: Anchor = Field(
        description="'start', 'planned-av-date', 'effective-date' or 'step:<step-id>' "
        "(the day that step completed)."
    )
    offset: int = Field(description="Units after the anchor; negative = before it; 0 = the anchor.")
    unit: DeadlineUnit
    extend_to_working_day: bool = Field(
        default=False,
        description="If the last day is a Saturday, Sunday or public holiday, move it to the "
        "next working day (for negative offsets: the previous one, so it stays early enough).",
    )

    @property
    def step_id(self) -> str | None:
        """The step id of a 'step:<id>' anchor, else None."""
        match = _STEP_ANCHOR.match(self.anchor)
        return match.group(1) if match else None


class DeadlineCatalogue(BaseModel):
    """Default legal lead times (domain brief). Any field can be overridden per trajectory,
    e.g. `DeadlineCatalogue(union_convocation_working_days=15)`."""

    model_config = ConfigDict(frozen=True)

    statute_draft_to_av_days: int = Field(
        default=90,
        ge=0,
        description="Calendar days at least between sending the draft statute/activity change "
        "to the members and the general assembly (AV) that decides on it.",
    )
    wvv_filing_before_av_weeks: int = Field(
        default=6,
        ge=0,
        description="Weeks at least between filing the WVV transfer proposal at the enterprise "
        "court registry and the deciding general assembly.",
    )
    gazette_publication_days: int = Field(
        default=10,
        ge=0,
        description="Calendar days after filing within which the proposal is published in the "
        "annexes of the Belgian Official Gazette.",
    )
    boards_before_wvv_weeks: int = Field(
        default=6,
        ge=0,
        description="Weeks at least before the deciding AV by which both boards approve a WVV "
        "transfer proposal (no statute change).",
    )
    boards_before_wvv_with_statute_change_weeks: int = Field(
        default=9,
        ge=0,
        description="As boards_before_wvv_weeks, when the transfer needs a statute change.",
    )
    deed_to_supervisor_days: int = Field(
        default=30,
        ge=0,
        description="Calendar days after a founding or statute deed within which it is sent to "
        "the supervisor (ABB).",
    )
    complaint_window_days: int = Field(
        default=30,
        ge=0,
        description="Calendar days after publication during which a complaint can be lodged "
        "with the supervisor.",
    )
    union_convocation_working_days: int = Field(
        default=10,
        ge=0,
        description="Working days at least between convening the union consultation "
        "(syndicaal overleg) and the meeting.",
    )
    regulation_in_force_day: int = Field(
        default=5,
        ge=0,
        description="A regulation enters into force on this day after its publication "
        "(publication + 5 calendar days by default).",
    )
    reminder_days_before_deadline: int = Field(
        default=14,
        ge=0,
        description="Calendar days before a deadline at which the responsible role is reminded.",
    )
    escalation_days_after_deadline: int = Field(
        default=0,
        ge=0,
        description="Calendar days of grace after a deadline before escalation; 0 = escalate "
        "on the first day the deadline is overdue.",
    )
