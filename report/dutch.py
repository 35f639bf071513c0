"""Dutch words for the report: phases, forms, lanes, outcomes.

Dates, counting and lists live in phrasing/ (shared with the trajectory's notices) and are
re-exported here under the names the report has always used.
"""

from __future__ import annotations

# Re-exported (the `as` form) so the report's modules and tests keep importing them here.
from phrasing.dates import MONTHS as MONTHS
from phrasing.dates import MONTHS_SHORT as MONTHS_SHORT
from phrasing.dates import format_date as format_date
from phrasing.dates import format_optional_date as format_optional_date
from phrasing.words import count as count
from phrasing.words import enumerate_nl as enumerate_nl
from schemas.common import CooperationKind, Lane, Outcome
from schemas.template import Phase
from schemas.trajectory import StepStatus, StructureEnd

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

# Without a general assembly (an informal overleg) that phase is the board's decision.
_PHASE_WITHOUT_ASSEMBLY = "beslissing van de raad van bestuur"


def phase_label(phase: Phase, *, has_assembly: bool = True) -> str:
    if phase is Phase.GENERAL_ASSEMBLY and not has_assembly:
        return _PHASE_WITHOUT_ASSEMBLY
    return PHASE_LABELS[phase]


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

# How a cooperation merged into a trajectory ends, as the register's account says it.
STRUCTURE_END: dict[StructureEnd, str] = {
    StructureEnd.DISSOLVED: "ontbonden",
    StructureEnd.CONTINUED_OUTSIDE_REGION: "verder gezet door de besturen buiten de regio",
    StructureEnd.ENDED: "opgeheven",
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


def days(number: int) -> str:
    return count(number, "dag", "dagen")
