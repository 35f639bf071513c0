"""The register: authorities and cooperations (the fiches of 2013/2017), as validated models.

`CooperationFiche` is what people supply (CSV import, upsert); `Cooperation` is what the
register holds, fiche plus the status that trajectories maintain. Field names are the column
names of the `cooperations` table and the header names of the CSV import.
"""

from __future__ import annotations

import re
from datetime import date, datetime
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
_OPTIONAL = frozenset(FICHE_FIELDS) - {"id", "name", "kind"}


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


class Cooperation(_FicheFields):
    """A cooperation as the register holds it."""

    members: tuple[RegisterId, ...] = ()
    status: CooperationStatus = CooperationStatus.ACTIVE
    integrated_on: IsoDate | None = None
    updated_at: datetime

    @model_validator(mode="after")
    def _integration_date_only_when_integrated(self) -> Self:
        if self.integrated_on is not None and self.status is not CooperationStatus.INTEGRATED:
            raise ValueError("integrated_on is only set for an integrated cooperation")
        return self
