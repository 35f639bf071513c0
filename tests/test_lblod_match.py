"""The outcome mapping and the matcher, pure: real publications against a trajectory status
built here (a round of Torhout and Izegem opened in May 2024)."""

from __future__ import annotations

from datetime import date

import pytest

from lblod.matcher import NoMatch, default_patterns, match
from lblod.model import AgendaItem, PublishedDecision, VoteCount
from lblod.outcome import PublishedResult, read_result
from lblod.reader import read_publication
from schemas.common import CooperationKind, Lane, Outcome, StepKind
from schemas.template import Phase
from schemas.trajectory import (
    DecisionInput,
    PartyDecision,
    StepStatus,
    StepView,
    TrajectoryStatus,
)
from tests.support.lblod import (
    ESSEN,
    ESSEN_COUNCIL,
    TORHOUT,
    TORHOUT_COUNCIL,
    TORHOUT_ITEM,
    fixture_bytes,
)


def _item(*votes: VoteCount) -> PublishedDecision:
    return PublishedDecision(
        session_uri="s", agenda_item=AgendaItem(uri="a", title="t"), besluit_uri="b", votes=votes
    )


def _vote(result: str | None = None, counts: tuple[int, int, int] | None = None) -> VoteCount:
    f, a, o = counts if counts else (None, None, None)
    return VoteCount(uri="v", votes_for=f, votes_against=a, votes_abstained=o, result=result)


@pytest.mark.parametrize(
    ("vote", "expected"),
    [
        (_vote("Goedgekeurd"), PublishedResult.APPROVED),
        (_vote("goedgekeurd."), PublishedResult.APPROVED),
        (_vote("Eenparig goedgekeurd"), PublishedResult.APPROVED),
        (_vote("Niet goedgekeurd"), PublishedResult.REJECTED),
        (_vote("Verworpen"), PublishedResult.REJECTED),
        (_vote("Verdaagd"), PublishedResult.POSTPONED),
        (_vote("Uitgesteld"), PublishedResult.POSTPONED),
        (_vote("Ingetrokken"), PublishedResult.WITHDRAWN),
        (_vote("Behandeld"), PublishedResult.UNCLEAR),
        (_vote("Kennis genomen"), PublishedResult.UNCLEAR),
        (_vote(None, (20, 0, 0)), PublishedResult.APPROVED),
        (_vote(None, (3, 18, 1)), PublishedResult.REJECTED),
        (_vote(None, (10, 10, 2)), PublishedResult.UNCLEAR),
        (_vote("Goedgekeurd", (3, 18, 0)), PublishedResult.UNCLEAR),
        (_vote(None), PublishedResult.UNCLEAR),
    ],
)
def test_outcome_mapping(vote: VoteCount, expected: PublishedResult) -> None:
    assert read_result(_item(vote)).result is expected


def test_outcomes_the_trajectory_records() -> None:
    assert read_result(_item(_vote("Goedgekeurd"))).outcome is Outcome.APPROVE
    assert read_result(_item(_vote("Afgekeurd"))).outcome is Outcome.REJECT
    assert read_result(_item(_vote("Verdaagd"))).outcome is Outcome.POSTPONE
    assert read_result(_item(_vote("Ingetrokken"))).outcome is Outcome.POSTPONE
    assert read_result(_item(_vote("Behandeld"))).outcome is None
    # Two votes on one item (an amendment first): which one decides is not published.
    two = _item(_vote("Goedgekeurd"), _vote("Goedgekeurd"))
    assert read_result(two).result is PublishedResult.UNCLEAR
    assert read_result(_item()).outcome is None


def _status(
    *,
    step_status: StepStatus = StepStatus.OPEN,
    torhout: DecisionInput | None = None,
    opened: date = date(2024, 5, 1),
) -> TrajectoryStatus:
    # Validated from plain data: the status carries the decision as the trajectory recorded it.
    recorded = torhout.model_dump(mode="json") if torhout else None
    parties = (
        PartyDecision.model_validate(
            {
                "authority_id": "torhout",
                "outcome": torhout.outcome if torhout else None,
                "decision": recorded,
            }
        ),
        PartyDecision(authority_id="izegem", outcome=None),
    )
    step = StepView(
        id="partners-round",
        title="Beslissing van de partners",
        lane=Lane.APPROVALS,
        kind=StepKind.DECISION_ROUND,
        phase=next(iter(Phase)),
        status=step_status,
        opened_on=opened,
        round_number=1,
        parties=parties,
    )
    return TrajectoryStatus(
        workflow_id="inkanteling-regionaal-sportoverleg",
        cooperation_id="regionaal-sportoverleg",
        cooperation_name="Regionaal Sportoverleg",
        kind=CooperationKind.INFORMAL_OVERLEG,
        template_version=1,
        phase=next(iter(Phase)),
        today=date(2024, 6, 1),
        started_on=date(2024, 4, 1),
        planned_av_date=date(2024, 12, 1),
        effective_date=date(2025, 1, 1),
        needs_effective_date=False,
        participants=(),
        steps=(step,),
        pending_authorities=("torhout", "izegem"),
        overdue=False,
        next_deadline=None,
        timeline=(),
        rejected_messages=0,
    )


BODIES = {"torhout": frozenset({TORHOUT_COUNCIL}), "essen": frozenset({ESSEN_COUNCIL})}
TORHOUT_PUBLICATION = read_publication(fixture_bytes(TORHOUT), TORHOUT)


def test_the_council_decision_is_proposed_with_date_reference_and_votes() -> None:
    status = _status()
    result = match(status, date(2024, 6, 1), BODIES, (TORHOUT_ITEM,), TORHOUT_PUBLICATION)
    (proposal,) = result.proposals
    assert proposal.authority_id == "torhout" and proposal.step_id == "partners-round"
    assert proposal.outcome is Outcome.APPROVE  # by the counts: no result is published
    assert proposal.session_date == date(2024, 5, 27)
    assert proposal.reference.startswith("https://lblod.torhout.be/LBLODWeb/id/besluiten/")
    assert (proposal.votes.votes_for, proposal.votes.votes_against) == (24, 0)
    decision = proposal.decision("LBLOD torhout.html")
    assert decision.reference == proposal.reference and decision.votes_for == 24


def test_reasons_when_nothing_matches() -> None:
    today = date(2024, 6, 1)

    def kinds(result_reasons: object) -> list[NoMatch]:
        return [r.kind for r in result_reasons]  # type: ignore[attr-defined]

    no_item = match(_status(), today, BODIES, ("iets anders",), TORHOUT_PUBLICATION)
    assert kinds(no_item.reasons) == [NoMatch.NO_MATCHING_ITEM] and not no_item.proposals
    unknown_body = match(_status(), today, {}, (TORHOUT_ITEM,), TORHOUT_PUBLICATION)
    assert kinds(unknown_body.reasons) == [NoMatch.NO_PARTY_BODY]
    essen = read_publication(fixture_bytes(ESSEN), ESSEN)
    not_a_party = match(_status(), today, BODIES, ("Pidpa",), essen)
    assert kinds(not_a_party.reasons) == [NoMatch.NOT_A_PARTY]
    closed = match(
        _status(step_status=StepStatus.DONE), today, BODIES, (TORHOUT_ITEM,), TORHOUT_PUBLICATION
    )
    assert kinds(closed.reasons) == [NoMatch.NO_OPEN_DECISION]
    late_round = match(
        _status(opened=date(2024, 5, 28)), today, BODIES, (TORHOUT_ITEM,), TORHOUT_PUBLICATION
    )
    assert kinds(late_round.reasons) == [NoMatch.SESSION_OUTSIDE_ROUND]
    several = match(_status(), today, BODIES, ("Openbare orde",), TORHOUT_PUBLICATION)
    assert kinds(several.reasons) == [NoMatch.AMBIGUOUS]


def test_the_same_publication_twice_is_recognised() -> None:
    today = date(2024, 6, 1)
    (proposal,) = match(_status(), today, BODIES, (TORHOUT_ITEM,), TORHOUT_PUBLICATION).proposals
    recorded = _status(torhout=proposal.decision("LBLOD torhout.html"))
    again = match(recorded, today, BODIES, (TORHOUT_ITEM,), TORHOUT_PUBLICATION)
    assert not again.proposals
    assert [r.kind for r in again.reasons] == [NoMatch.ALREADY_RECORDED]


def test_default_patterns_name_the_cooperation_and_the_statute_change() -> None:
    assert default_patterns("Regionaal Sportoverleg") == (
        "Regionaal Sportoverleg",
        "statutenwijziging DVV Midwest",
    )
