"""The register: authorities and cooperations (the fiches of 2013/2017), as validated models.

`CooperationFiche` is what people supply (CSV import, upsert); `Cooperation` is what the
register holds, fiche plus the status that trajectories maintain and, for a cooperation that
ended without being integrated, how it ended (`CooperationEnd`). `Association` is DVV Midwest
itself (migration 0007 says why it is neither an authority nor a cooperation). Field names are
the column names of the tables and the header names of the CSV import.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from schemas.common import (
    AuthorityKind,
    CooperationKind,
    CooperationStatus,
    LongText,
    RegisterId,
    ShortText,
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_DATE = date(1800, 1, 1)


def _iso_date(value: Any) -> Any:
    """Accept only YYYY-MM-DD text, so '03/04/2017' is never read as 4 March or 3 April."""
    if isinstance(value, str):
        if not _ISO_DATE.match(value.strip()):
            raise ValueError(f"must be a date as YYYY-MM-DD (got {value[:40]!r})")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is not a calendar date (got {value[:40]!r})") from None
    return value


def _plausible_past(value: date) -> date:
    if not EARLIEST_DATE <= value <= date.today():
        raise ValueError(f"must lie between {EARLIEST_DATE} and today (got {value})")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
PastDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_plausible_past)]
# Counts of a fiche: whole, non-negative, and bounded so a typo (an extra digit) stands out.
MunicipalityCount = Annotated[int, Field(ge=0, le=1000)]
StaffCount = Annotated[int, Field(ge=0, le=100_000)]
Website = Annotated[str, Field(max_length=200, pattern=r"^https?://[^\s/$.?#][^\s]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Authority(_Model):
    """A council, intercommunale, province, DVV body or external partner."""

    id: RegisterId
    name: ShortText
    kind: AuthorityKind
    is_midwest_member: bool
    votes: int = Field(default=1, ge=0, le=1000)  # weight at the algemene vergadering
    website: Website | None = None


# The fiche fields in their CSV/table order; documented in register/csv_import.py.
FICHE_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "contact_point",
    "domain",
    "core_task",
    "cooperation_type",
    "inter_organisational_form",
    "legal_form",
    "partners",
    "financing",
    "initiator",
    "founding_date",
    "municipality_count",
    "area",
    "seat",
    "staff_count",
    "remarks",
)
# The local government that hosts a shared service (de trekkende gemeente): not a heading of the
# 2013/2017 fiche, so an optional column of an import, like the members.
HOST = "host"
_OPTIONAL = frozenset((*FICHE_FIELDS, HOST)) - {"id", "name", "kind"}

# Years an end may be recorded in, as the database's CHECK has them.
EndYear = Annotated[int, Field(ge=1800, le=9999)]


class EndReason(StrEnum):
    """Why a cooperation was not integrated (status 'not-integrated'), as the account puts it:
    "worden verder gezet door de besturen buiten regio Midwest of zijn opgeheven"."""

    CONTINUED_OUTSIDE_REGION = "continued-outside-region"  # verder gezet buiten de regio
    ENDED = "ended"  # opgeheven


# The statuses in which a cooperation has ended without being integrated.
END_STATUSES = frozenset({CooperationStatus.DISSOLVED, CooperationStatus.NOT_INTEGRATED})


class _FicheFields(_Model):
    id: RegisterId
    name: ShortText
    kind: CooperationKind
    contact_point: ShortText | None = None  # aanspreekpunt
    domain: ShortText | None = None  # domein
    core_task: LongText | None = None  # kernopdracht
    cooperation_type: ShortText | None = None  # type samenwerkingsverband
    inter_organisational_form: ShortText | None = None  # interorganisatorische vorm
    legal_form: ShortText | None = None  # juridische vorm
    partners: LongText | None = None  # inhoudelijke partners
    financing: LongText | None = None  # financiering
    initiator: ShortText | None = None  # initiatiefnemer
    founding_date: PastDate | None = None  # oprichtingsdatum
    municipality_count: MunicipalityCount | None = None  # aantal gemeenten
    area: LongText | None = None  # werkingsgebied
    seat: ShortText | None = None  # zetel
    staff_count: StaffCount | None = None  # aantal tewerkgestelde personeelsleden
    remarks: LongText | None = None  # bijkomende informatie
    host: RegisterId | None = None  # trekkende gemeente: an authority id, shared services only

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        # An empty cell or an all-blank text means "not known", stored as NULL.
        if isinstance(data, dict):
            return {
                k: (None if isinstance(v, str) and v.strip() == "" and k in _OPTIONAL else v)
                for k, v in data.items()
            }
        return data

    @model_validator(mode="after")
    def _host_only_for_a_shared_service(self) -> Self:
        if self.host is not None and self.kind is not CooperationKind.SHARED_SERVICE:
            raise ValueError(
                f"host: only a shared service has a host (trekkende gemeente); {self.id!r} is "
                f"of kind {self.kind.value} (empty the host with '-' or change the kind)"
            )
        return self


class CooperationFiche(_FicheFields):
    """A fiche as supplied by people. `members` None leaves the stored members as they are;
    a tuple (even empty) replaces them."""

    members: tuple[RegisterId, ...] | None = Field(default=None, max_length=500)

    @field_validator("members")
    @classmethod
    def _members_unique(cls, members: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if members is not None and len(set(members)) != len(members):
            twice = sorted({m for m in members if members.count(m) > 1})
            raise ValueError(f"listed twice: {', '.join(twice)}")
        return members


class CooperationEnd(_Model):
    """How a cooperation ended without being integrated: dissolved (ontbonden), or not
    integrated because it continued outside the region or was ended (opgeheven).

    `year` is the year the end is known to fall in and `on` the exact day, only when a source
    gives it: "dissolved in 2020" is year 2020 and no day, never 1 January. Both None: the
    register does not know when (a row ended before migration 0007 recorded dates)."""

    cooperation_id: RegisterId
    status: CooperationStatus  # dissolved or not-integrated
    reason: EndReason | None = None  # not-integrated only; None there when not known
    year: EndYear | None = None
    on: IsoDate | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.status not in END_STATUSES:
            raise ValueError(f"status {self.status.value!r} is not an end")
        _check_end(self.status, self.reason, self.year, self.on)
        return self

    def when_text(self) -> str:
        """'on 2020-03-01', 'in 2020 (the day is not known)' or 'on a date that is not
        known'."""
        if self.on is not None:
            return f"on {self.on}"
        if self.year is not None:
            return f"in {self.year} (the day is not known)"
        return "on a date that is not known"

    def text(self) -> str:
        """How it ended, as a phrase after the id: 'was dissolved in 2020 (the day is not
        known)', 'was not integrated: it continued outside the region, on 2019-01-01'."""
        if self.status is CooperationStatus.DISSOLVED:
            return f"was dissolved {self.when_text()}"
        why = {
            EndReason.CONTINUED_OUTSIDE_REGION: "it continued outside the region",
            EndReason.ENDED: "it was ended (opgeheven)",
            None: "the reason is not known",
        }[self.reason]
        return f"was not integrated: {why}, {self.when_text()}"


def _check_end(
    status: CooperationStatus, reason: EndReason | None, year: int | None, on: date | None
) -> None:
    """The rules the database's CHECKs of migration 0007 hold the end facts to."""
    if reason is not None and status is not CooperationStatus.NOT_INTEGRATED:
        raise ValueError("only a not-integrated cooperation has an end reason")
    if on is not None and year != on.year:
        raise ValueError(f"the end day {on} does not lie in the end year {year}")


class Cooperation(_FicheFields):
    """A cooperation as the register holds it."""

    members: tuple[RegisterId, ...] = ()
    status: CooperationStatus = CooperationStatus.ACTIVE
    integrated_on: IsoDate | None = None
    # The name its work continues under in DVV Midwest (BIE: the cultuur- en erfgoedplatform).
    continued_as: ShortText | None = None
    # How it ended, for a dissolved or not-integrated cooperation (see CooperationEnd).
    end_reason: EndReason | None = None
    ended_year: EndYear | None = None
    ended_on: IsoDate | None = None
    end_note: LongText | None = None
    updated_at: datetime

    @model_validator(mode="after")
    def _integration_date_only_when_integrated(self) -> Self:
        if self.integrated_on is not None and self.status is not CooperationStatus.INTEGRATED:
            raise ValueError("integrated_on is only set for an integrated cooperation")
        return self

    @model_validator(mode="after")
    def _end_only_when_ended(self) -> Self:
        facts = (self.end_reason, self.ended_year, self.ended_on, self.end_note)
        if self.status not in END_STATUSES and any(f is not None for f in facts):
            raise ValueError("the end facts are only set for a dissolved or not-integrated one")
        _check_end(self.status, self.end_reason, self.ended_year, self.ended_on)
        return self

    @property
    def end(self) -> CooperationEnd | None:
        """How it ended; None while it has not ended (or was integrated)."""
        if self.status not in END_STATUSES:
            return None
        return CooperationEnd(
            cooperation_id=self.id,
            status=self.status,
            reason=self.end_reason,
            year=self.ended_year,
            on=self.ended_on,
            note=self.end_note,
        )


class Association(_Model):
    """DVV Midwest itself: the association that cooperations are moved into. `members` are the
    authorities with is_midwest_member (the 16 local governments and WVI), read with it."""

    id: RegisterId
    name: ShortText
    legal_form: ShortText
    founded_on: IsoDate
    remarks: LongText | None = None
    members: tuple[RegisterId, ...] = ()
