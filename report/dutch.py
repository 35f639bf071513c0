"""Dutch words for the report: dates, phases, forms, lanes, outcomes.

Written out here instead of relying on the process locale: a report must read the same on a
server with `LANG=C` as on a coordinator's laptop.
"""

from __future__ import annotations

from datetime import date

from schemas.common import CooperationKind, Lane, Outcome
from schemas.template import Phase
from schemas.trajectory import StepStatus

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def format_date(day: date) -> str:
    """1 december 2020: day without a leading zero, month in lower case (Dutch usage)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def format_optional_date(day: date | None, missing: str = "—") -> str:
    return missing if day is None else format_date(day)


PHASE_LABELS: dict[Phase, str] = {
    Phase.PREPARATION: "voorbereiding",
    Phase.CONSULTATION: "overleg en advies",
    Phase.COUNCIL_ROUND: "beslissingsronde in de gemeenteraden",
    Phase.GENERAL_ASSEMBLY: "algemene vergadering",
    Phase.PUBLICATION: "bekendmaking en klachtentermijn",
    Phase.TRANSFER: "overdracht",
    Phase.RENEGOTIATION: "heronderhandeling",
    Phase.AWAITING_EFFECTIVE_DATE: "wacht op een nieuwe ingangsdatum",
    Phase.INTEGRATED: "ingekanteld",
    Phase.ABORTED: "gestopt",
}

# Short forms for the summary table, full ones for a trajectory's own section.
KIND_SHORT: dict[CooperationKind, str] = {
    CooperationKind.PROJECTVERENIGING: "projectvereniging",
    CooperationKind.INTERLOKALE_VERENIGING: "interlokale vereniging",
    CooperationKind.SHARED_SERVICE: "gedeelde dienst",
    CooperationKind.REGIONAL_ROLE: "regierol",
    CooperationKind.INFORMAL_OVERLEG: "feitelijke samenwerking",
}
KIND_LONG: dict[CooperationKind, str] = {
    CooperationKind.PROJECTVERENIGING: (
        "projectvereniging (rechtspersoon); overdracht via het Wetboek van Vennootschappen "
        "en Verenigingen"
    ),
    CooperationKind.INTERLOKALE_VERENIGING: (
        "interlokale vereniging (geen rechtspersoon); de overeenkomst wordt beëindigd"
    ),
    CooperationKind.SHARED_SERVICE: "gedeelde dienst (shared service) bij een trekkende gemeente",
    CooperationKind.REGIONAL_ROLE: "regierol onder een extern kader (erkenning of projectoproep)",
    CooperationKind.INFORMAL_OVERLEG: "feitelijke samenwerking of overleg (niets te vereffenen)",
}

LANE_LABELS: dict[Lane, str] = {
    Lane.LEGAL: "juridisch",
    Lane.FINANCIAL: "financieel",
    Lane.PERSONNEL: "personeel",
    Lane.APPROVALS: "beslissingen",
    Lane.TRANSFER: "overdracht",
}
LANE_ORDER: tuple[Lane, ...] = (
    Lane.LEGAL,
    Lane.FINANCIAL,
    Lane.PERSONNEL,
    Lane.APPROVALS,
    Lane.TRANSFER,
)

OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.APPROVE: "goedgekeurd",
    Outcome.REJECT: "afgekeurd",
    Outcome.POSTPONE: "uitstel",
    Outcome.ABSTAIN: "onthouding",
}
SILENCE_LABEL = "onthouding (geen beslissing binnen de termijn)"

STEP_STATUS_LABELS: dict[StepStatus, str] = {
    StepStatus.WAITING: "nog niet gestart",
    StepStatus.OPEN: "lopend",
    StepStatus.DONE: "afgerond",
    StepStatus.REJECTED: "niet goedgekeurd",
    StepStatus.CANCELLED: "stopgezet",
    StepStatus.COMPENSATED: "ongedaan gemaakt",
}

TRANSFER_KINDS: dict[str, tuple[str, str]] = {  # item kind -> (singular, plural)
    "staff": ("personeelslid", "personeelsleden"),
    "asset": ("activum", "activa"),
    "contract": ("contract", "contracten"),
    "subsidy": ("subsidie", "subsidies"),
    "liability": ("schuld", "schulden"),
}


def yes_no(value: bool) -> str:
    return "ja" if value else "nee"


def count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def days(number: int) -> str:
    return count(number, "dag", "dagen")


def enumerate_nl(items: list[str]) -> str:
    """'a', 'a en b', 'a, b en c': the Dutch list without an Oxford comma."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " en " + items[-1]
