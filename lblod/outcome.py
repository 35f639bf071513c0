"""From what a council published as the result of a vote to an outcome the trajectory records.

Every platform publishes besluit:gevolg as free text ("Goedgekeurd", "goedgekeurd",
"Behandeld", or nothing at all). The mapping is an explicit table of the results we know;
anything else is UNCLEAR, shown to the coordinator and never recorded. Where no result is
published but the votes are (Torhout's minutes), the counts decide by the councils' rule: a
proposal passes with more votes for than against, abstentions not counting; a tie is left to
the coordinator.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from lblod.model import PublishedDecision, VoteCount
from schemas.common import Outcome


class PublishedResult(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    POSTPONED = "postponed"  # verdaagd: the council decides at a later session
    WITHDRAWN = "withdrawn"  # the item was taken off the agenda: no decision yet
    UNCLEAR = "unclear"  # for the coordinator to decide; never recorded


# Results as published, normalised (see `normalise`). Whole values only: "niet goedgekeurd"
# contains "goedgekeurd", so a substring test would turn a rejection into an approval.
KNOWN_RESULTS: dict[str, PublishedResult] = {
    **dict.fromkeys(
        (
            "goedgekeurd",
            "aangenomen",
            "aanvaard",
            "eenparig goedgekeurd",
            "unaniem goedgekeurd",
            "goedgekeurd bij eenparigheid",
            "goedgekeurd met eenparigheid",
            "goedgekeurd met eenparigheid van stemmen",
            "goedgekeurd bij eenparigheid van stemmen",
            "goedgekeurd met meerderheid",
            "goedgekeurd bij meerderheid",
            "goedgekeurd met meerderheid van stemmen",
        ),
        PublishedResult.APPROVED,
    ),
    **dict.fromkeys(
        ("afgekeurd", "verworpen", "niet goedgekeurd", "niet aangenomen", "geweigerd"),
        PublishedResult.REJECTED,
    ),
    **dict.fromkeys(
        ("verdaagd", "uitgesteld", "aangehouden", "uitgesteld naar een volgende zitting"),
        PublishedResult.POSTPONED,
    ),
    **dict.fromkeys(
        (
            "ingetrokken",
            "teruggetrokken",
            "afgevoerd",
            "van de agenda gehaald",
            "afgevoerd van de agenda",
        ),
        PublishedResult.WITHDRAWN,
    ),
}

# What each result means for the trajectory. A withdrawn item is recorded as a postponement:
# the council has not decided and will put the item on a later agenda, which is what
# Outcome.POSTPONE says (the party stays pending).
OUTCOME_FOR: dict[PublishedResult, Outcome | None] = {
    PublishedResult.APPROVED: Outcome.APPROVE,
    PublishedResult.REJECTED: Outcome.REJECT,
    PublishedResult.POSTPONED: Outcome.POSTPONE,
    PublishedResult.WITHDRAWN: Outcome.POSTPONE,
    PublishedResult.UNCLEAR: None,
}


class Reading(BaseModel):
    """The result read from a published decision, and on what it rests."""

    model_config = ConfigDict(frozen=True)

    result: PublishedResult
    basis: str  # English, for the coordinator: what was published and how it was read

    @property
    def outcome(self) -> Outcome | None:
        return OUTCOME_FOR[self.result]


def normalise(text: str) -> str:
    """Lower case, accents and trailing punctuation removed, whitespace folded."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split()).strip(" .!;:")


def _by_counts(vote: VoteCount) -> PublishedResult:
    assert vote.votes_for is not None and vote.votes_against is not None
    if vote.votes_for > vote.votes_against:
        return PublishedResult.APPROVED
    if vote.votes_for < vote.votes_against:
        return PublishedResult.REJECTED
    return PublishedResult.UNCLEAR


def _counts_text(vote: VoteCount) -> str:
    return f"{vote.votes_for} for, {vote.votes_against} against, {vote.votes_abstained} abstaining"


def read_result(decision: PublishedDecision) -> Reading:
    """The result of a published decision; UNCLEAR with the reason when it cannot be told."""
    votes = decision.votes
    if not votes:
        return Reading(result=PublishedResult.UNCLEAR, basis="no vote published")
    if len(votes) > 1:
        # Amendments are voted before the proposal; which vote is the decision's is not
        # published in a form that can be relied on.
        return Reading(
            result=PublishedResult.UNCLEAR,
            basis=f"{len(votes)} votes published for one item; decide which one counts",
        )
    (vote,) = votes
    if vote.result:
        known = KNOWN_RESULTS.get(normalise(vote.result))
        if known is None:
            return Reading(
                result=PublishedResult.UNCLEAR,
                basis=f"published result {vote.result!r} is not one the mapping knows",
            )
        if vote.has_counts and known in (PublishedResult.APPROVED, PublishedResult.REJECTED):
            by_counts = _by_counts(vote)
            if by_counts is not known:
                return Reading(
                    result=PublishedResult.UNCLEAR,
                    basis=f"published result {vote.result!r} contradicts the counts "
                    f"({_counts_text(vote)})",
                )
        return Reading(result=known, basis=f"published result {vote.result!r}")
    if vote.has_counts:
        by_counts = _by_counts(vote)
        if by_counts is PublishedResult.UNCLEAR:
            return Reading(
                result=by_counts, basis=f"no result published and a tie ({_counts_text(vote)})"
            )
        return Reading(
            result=by_counts,
            basis=f"no result published; by the counts ({_counts_text(vote)})",
        )
    return Reading(result=PublishedResult.UNCLEAR, basis="neither a result nor counts published")
