"""Vocabulary shared by every part of the system."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            "must be a register id: lowercase letters, digits and '-', starting with a letter or "
            f"digit, at most 63 characters (got {value[:80]!r})"
        )
    return value


# Ids of authorities, cooperations, steps: public register keys, never personal data.
RegisterId = Annotated[str, AfterValidator(_slug)]

# Free text typed by people: bounded, no control characters except newline and tab.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains control characters; remove them")
    return value


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_clean_text),
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=4000), AfterValidator(_clean_text)
]


class CooperationKind(StrEnum):
    """Forms of intermunicipal cooperation that can be moved into DVV Midwest (DLB 2017)."""

    PROJECTVERENIGING = "projectvereniging"
    INTERLOKALE_VERENIGING = "interlokale-vereniging"
    SHARED_SERVICE = "shared-service"
    REGIONAL_ROLE = "regional-role"
    INFORMAL_OVERLEG = "informal-overleg"


class AuthorityKind(StrEnum):
    MUNICIPALITY = "municipality"
    INTERCOMMUNALE = "intercommunale"
    PROVINCE = "province"
    DVV_BODY = "dvv-body"
    EXTERNAL_PARTNER = "external-partner"


class Outcome(StrEnum):
    """What a council or body decided on an agenda item."""

    APPROVE = "approve"
    REJECT = "reject"
    POSTPONE = "postpone"  # uitstel: the party will decide later
    ABSTAIN = "abstain"  # onthouding; also what silence becomes at the deadline


class Lane(StrEnum):
    LEGAL = "legal"
    FINANCIAL = "financial"
    PERSONNEL = "personnel"
    APPROVALS = "approvals"
    TRANSFER = "transfer"


class StepKind(StrEnum):
    AUTOMATIC = "automatic"
    TASK = "task"
    DECISION = "decision"
    DECISION_ROUND = "decision-round"
    WAIT = "wait"


class CooperationStatus(StrEnum):
    """Where a cooperation of the register stands."""

    ACTIVE = "active"
    IN_TRAJECTORY = "in-trajectory"
    INTEGRATED = "integrated"  # ingekanteld
    NOT_INTEGRATED = "not-integrated"  # decided against, or continued outside the region
    DISSOLVED = "dissolved"
