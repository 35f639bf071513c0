"""Decision rules for a round of decisions by the participating parties, and their votes.

Pure data: workflows import this module; rules.voting evaluates these models.
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from schemas.common import Outcome, RegisterId


class Verdict(StrEnum):
    """Where a decision stands under its rule."""

    APPROVED = "approved"
    REJECTED = "rejected"
    OPEN = "open"  # not certain yet: more decisions may still change it


def _exact_fraction(value: object) -> object:
    # A float such as 0.6667 is meant as the decimal the user typed, not its binary
    # approximation; "3/4", ints and Fractions pass through unchanged.
    if isinstance(value, float):
        return Fraction(repr(value))
    return value


# Exact fractions: compared with exact arithmetic, serialised as "3/4". Accepts 0.75, "3/4".
UnitFraction = Annotated[Fraction, BeforeValidator(_exact_fraction), Field(gt=0, le=1)]
QuorumFraction = Annotated[Fraction, BeforeValidator(_exact_fraction), Field(ge=0, le=1)]


class Unanimity(BaseModel):
    """Every party must approve; a rejection, an abstention or silence at the deadline each
    mean the proposal fails (statutes of a projectvereniging may demand this)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["unanimity"] = "unanimity"


class QualifiedMajority(BaseModel):
    """The general-assembly (AV) rule of DVV Midwest: all enabled conditions must hold.

    The domain brief marks this rule as *unverified*, hence every part is configurable:
    - votes_cast_fraction: approve votes / (approve + reject votes), weighted by each
      party's votes, at least this fraction (abstentions are not votes cast);
    - municipal_votes_fraction: the same, only over the parties that are municipalities;
    - municipality_majority: more than half of ALL participating municipalities (one per
      municipality, not weighted; abstaining or silent ones count in the total) approve.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["qualified-majority"] = "qualified-majority"
    votes_cast_fraction: UnitFraction = Fraction(3, 4)
    municipal_votes_fraction: UnitFraction = Fraction(3, 4)
    municipality_majority: bool = True


class SimpleMajority(BaseModel):
    """More approve than reject votes among the votes cast (weighted), provided at least
    quorum_fraction of the parties (counted per party) cast a vote (approve or reject;
    abstentions do not count, or silence turned abstention would always make the quorum)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["simple-majority"] = "simple-majority"
    quorum_fraction: QuorumFraction = Fraction(0)


DecisionRule = Annotated[
    Unanimity | QualifiedMajority | SimpleMajority, Field(discriminator="kind")
]


class PartyVote(BaseModel):
    """Where one party of a decision round stands."""

    model_config = ConfigDict(frozen=True)

    authority_id: RegisterId
    votes: int = Field(ge=0, description="Weight of this party's delegate in the assembly.")
    is_municipality: bool
    outcome: Outcome | None = Field(
        default=None,
        description="None: not decided yet; POSTPONE: decided to decide later (still open).",
    )
