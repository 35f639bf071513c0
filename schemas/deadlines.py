"""Deadline rules and the catalogue of legal lead times (domain brief, "Deadline catalogue").

Every number here is a default that a trajectory may override; none is a constant of the law
as far as this system is concerned. Pure data: workflows import this module.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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


class LeadTime(StrEnum):
    """The legal lead times of the catalogue a template's dates can name (domain brief,
    "Deadline catalogue"); each is a field of DeadlineCatalogue, so a trajectory's
    `deadlines` override moves every date that names it."""

    STATUTE_DRAFT_TO_AV = "statute-draft-to-av"
    WVV_FILING_BEFORE_AV = "wvv-filing-before-av"
    GAZETTE_PUBLICATION = "gazette-publication"
    BOARDS_BEFORE_WVV = "boards-before-wvv"
    BOARDS_BEFORE_WVV_WITH_STATUTE_CHANGE = "boards-before-wvv-with-statute-change"
    DEED_TO_SUPERVISOR = "deed-to-supervisor"
    COMPLAINT_WINDOW = "complaint-window"
    UNION_CONVOCATION = "union-convocation"
    REGULATION_IN_FORCE = "regulation-in-force"


class DeadlineRule(BaseModel):
    """A date computed from an anchor date: `offset` units after (or, if negative, before) it.

    A legal lead time names its catalogue entry instead (`lead_time`, with `before: true` for
    a latest day before the anchor); its length and unit then come from the trajectory's
    catalogue (rules.deadlines.concrete_rule), never from the template.

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
    offset: int = Field(
        default=0, description="Units after the anchor; negative = before it; 0 = the anchor."
    )
    unit: DeadlineUnit = DeadlineUnit.CALENDAR_DAYS
    lead_time: LeadTime | None = Field(
        default=None,
        description="The catalogue entry that gives offset and unit (instead of giving them).",
    )
    before: bool = Field(
        default=False, description="With lead_time: the lead time counts back from the anchor."
    )
    extend_to_working_day: bool = Field(
        default=False,
        description="If the last day is a Saturday, Sunday or public holiday, move it to the "
        "next working day (for negative offsets: the previous one, so it stays early enough).",
    )

    @model_validator(mode="after")
    def _offset_or_lead_time(self) -> Self:
        # Checked on values, not on which fields were given: a rule read back from a history
        # carries every field with its default.
        if self.lead_time is not None and (
            self.offset != 0 or self.unit is not DeadlineUnit.CALENDAR_DAYS
        ):
            raise ValueError(
                f"lead time {self.lead_time.value!r} takes its length from the deadline "
                "catalogue; give no offset or unit beside it"
            )
        if self.lead_time is None and self.before:
            raise ValueError("'before' goes with a lead_time; give a negative offset instead")
        return self

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
    recording_grace_days: int = Field(
        default=30,
        ge=0,
        description="Calendar days after a round's deadline during which a decision taken on "
        "or before the deadline (its session date) can still be recorded; the round's verdict "
        "is then revised.",
    )
    escalation_days_after_deadline: int = Field(
        default=0,
        ge=0,
        description="Calendar days of grace after a deadline before escalation; 0 = escalate "
        "on the first day the deadline is overdue.",
    )

    def period(self, lead_time: LeadTime) -> tuple[int, DeadlineUnit]:
        """The length and unit of a catalogue entry."""
        periods: dict[LeadTime, tuple[int, DeadlineUnit]] = {
            LeadTime.STATUTE_DRAFT_TO_AV: (
                self.statute_draft_to_av_days,
                DeadlineUnit.CALENDAR_DAYS,
            ),
            LeadTime.WVV_FILING_BEFORE_AV: (self.wvv_filing_before_av_weeks, DeadlineUnit.WEEKS),
            LeadTime.GAZETTE_PUBLICATION: (
                self.gazette_publication_days,
                DeadlineUnit.CALENDAR_DAYS,
            ),
            LeadTime.BOARDS_BEFORE_WVV: (self.boards_before_wvv_weeks, DeadlineUnit.WEEKS),
            LeadTime.BOARDS_BEFORE_WVV_WITH_STATUTE_CHANGE: (
                self.boards_before_wvv_with_statute_change_weeks,
                DeadlineUnit.WEEKS,
            ),
            LeadTime.DEED_TO_SUPERVISOR: (self.deed_to_supervisor_days, DeadlineUnit.CALENDAR_DAYS),
            LeadTime.COMPLAINT_WINDOW: (self.complaint_window_days, DeadlineUnit.CALENDAR_DAYS),
            LeadTime.UNION_CONVOCATION: (
                self.union_convocation_working_days,
                DeadlineUnit.WORKING_DAYS,
            ),
            LeadTime.REGULATION_IN_FORCE: (
                self.regulation_in_force_day,
                DeadlineUnit.CALENDAR_DAYS,
            ),
        }
        return periods[lead_time]
