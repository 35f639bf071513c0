"""Decision-round verdicts, checked against tallies counted by hand.

Vote weights here are made up for the arithmetic; the real ones come from the statutes.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import TypeAdapter, ValidationError

from rules.voting import evaluate
from schemas.common import Outcome
from schemas.rules import (
    DecisionRule,
    PartyVote,
    QualifiedMajority,
    SimpleMajority,
    Unanimity,
)

A, R, P, X = Outcome.APPROVE, Outcome.REJECT, Outcome.POSTPONE, Outcome.ABSTAIN
AV = QualifiedMajority()


def m(authority_id: str, outcome: Outcome | None, votes: int = 1) -> PartyVote:
    """A municipality."""
    return PartyVote(authority_id=authority_id, votes=votes, is_municipality=True, outcome=outcome)


def wvi(outcome: Outcome | None, votes: int) -> PartyVote:
    """The intercommunale WVI: a member, not a municipality."""
    return PartyVote(authority_id="wvi", votes=votes, is_municipality=False, outcome=outcome)


# --- unanimity ------------------------------------------------------------------------------


def test_unanimity_all_approve() -> None:
    parties = [m("roeselare", A), m("izegem", A), wvi(A, 1)]
    verdict = evaluate(Unanimity(), parties, closed=False)
    assert verdict.status == "approved"
    assert verdict.reasons == ["all 3 parties approve"]
    assert verdict.tally.approve == 3
    assert verdict.municipal.approve == 2


def test_unanimity_one_reject_is_rejected_while_open() -> None:
    parties = [m("roeselare", A), m("izegem", R), m("tielt", None), m("pittem", P)]
    verdict = evaluate(Unanimity(), parties, closed=False)
    assert verdict.status == "rejected"
    assert verdict.reasons == [
        "even if everyone still to decide (2 parties) approves: unanimity fails: not approved by "
        "izegem (reject)"
    ]
    assert verdict.tally.pending == 2


def test_unanimity_one_abstain_at_close_is_rejected() -> None:
    parties = [m("roeselare", A), m("izegem", X), m("tielt", A)]
    verdict = evaluate(Unanimity(), parties, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons == ["unanimity fails: not approved by izegem (abstain)"]
    # An abstention is final, so the round is lost before the deadline too.
    assert evaluate(Unanimity(), parties, closed=False).status == "rejected"


def test_silence_at_deadline_is_abstention() -> None:
    parties = [m("roeselare", A), m("izegem", A), m("tielt", None)]
    assert evaluate(Unanimity(), parties, closed=False).status == "open"
    verdict = evaluate(Unanimity(), parties, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons == [
        "deadline passed, counted as abstaining for lack of a final decision: tielt (undecided)",
        "unanimity fails: not approved by tielt (abstain)",
    ]
    assert (verdict.tally.abstain, verdict.tally.pending) == (1, 0)


# --- the general-assembly rule (qualified majority) -----------------------------------------


def test_av_votes_cast_pass_but_municipal_votes_fail() -> None:
    # All cast: approve 5+5+30 = 40 of 45 (88.9%). Municipal: approve 10 of 15 (66.7%).
    # Municipalities approving: 2 of 3, more than half.
    parties = [m("ardooie", A, 5), m("hooglede", A, 5), m("staden", R, 5), wvi(A, 30)]
    verdict = evaluate(AV, parties, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons == [
        "approve votes 40 of 45 cast (88.9%) meet 3/4",
        "approve municipal votes 10 of 15 cast (66.7%) fall short of 3/4",
        "2 of 3 participating municipalities approve (66.7%), more than half",
    ]


def test_av_municipality_majority_fails_when_many_abstain() -> None:
    # Cast: 3 municipal approvals + WVI 2 = 5 of 5; municipal 3 of 3; but only 3 of the 6
    # municipalities approve, which is not more than half.
    parties = [
        m("ardooie", A),
        m("hooglede", A),
        m("ledegem", A),
        m("moorslede", X),
        m("pittem", X),
        m("staden", None),  # silent at the deadline: abstains
        wvi(A, 2),
    ]
    verdict = evaluate(AV, parties, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons[1:] == [
        "approve votes 5 of 5 cast (100.0%) meet 3/4",
        "approve municipal votes 3 of 3 cast (100.0%) meet 3/4",
        "3 of 6 participating municipalities approve (50.0%), not more than half",
    ]
    assert verdict.municipal.abstain == 3
    # Without the municipality-majority condition the same votes pass.
    relaxed = QualifiedMajority(municipality_majority=False)
    assert evaluate(relaxed, parties, closed=True).status == "approved"


def test_av_exact_three_quarters_passes() -> None:
    # 3 x 3 approve against 3 reject: 9 of 12 = exactly 3/4; 3 of 4 municipalities approve.
    parties = [m("ardooie", A, 3), m("hooglede", A, 3), m("ledegem", A, 3), m("pittem", R, 3)]
    verdict = evaluate(AV, parties, closed=True)
    assert verdict.status == "approved"
    assert verdict.reasons[0] == "approve votes 9 of 12 cast (75.0%) meet 3/4"


def test_av_just_below_three_quarters_fails() -> None:
    # 37 + 37 = 74 approve of 99 cast: 74/99 < 3/4 (296 < 297 after cross-multiplying).
    parties = [m("ardooie", A, 37), m("hooglede", A, 37), m("pittem", R, 25)]
    verdict = evaluate(AV, parties, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons[0] == "approve votes 74 of 99 cast (74.7%) fall short of 3/4"


def test_wvi_weight_counts_in_votes_cast_not_municipal() -> None:
    # Cast: approve 4 x 10 = 40 of 60 (WVI rejects with 20): 66.7%, fails.
    # Municipal: 40 of 40, passes. 4 of 4 municipalities approve.
    parties = [m(name, A, 10) for name in ("ardooie", "hooglede", "ledegem", "pittem")]
    parties.append(wvi(R, 20))
    verdict = evaluate(AV, parties, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons[:2] == [
        "approve votes 40 of 60 cast (66.7%) fall short of 3/4",
        "approve municipal votes 40 of 40 cast (100.0%) meet 3/4",
    ]
    assert (verdict.tally.reject_votes, verdict.municipal.reject_votes) == (20, 0)
    assert (verdict.tally.parties, verdict.municipal.parties) == (5, 4)


def test_postponed_party_open_then_abstains_at_close() -> None:
    parties = [m("ardooie", A), m("hooglede", A), m("ledegem", A), m("pittem", P)]
    open_verdict = evaluate(AV, parties, closed=False)
    assert open_verdict.status == "open"
    assert open_verdict.reasons[0] == "waiting for 1 of 4 parties: pittem (postponed)"
    assert open_verdict.tally.pending == 1
    # At the deadline pittem abstains: 3 of 3 cast, 3 of 4 municipalities approve.
    closed_verdict = evaluate(AV, parties, closed=True)
    assert closed_verdict.status == "approved"
    assert (closed_verdict.tally.abstain, closed_verdict.tally.pending) == (1, 0)
    assert closed_verdict.reasons[0] == (
        "deadline passed, counted as abstaining for lack of a final decision: pittem (postponed)"
    )


def test_open_until_every_party_decided_even_if_approval_is_certain() -> None:
    names = [f"gemeente-{i}" for i in range(1, 17)]
    parties = [m(name, A) for name in names[:15]] + [m(names[15], None)]
    verdict = evaluate(AV, parties, closed=False)
    assert verdict.status == "open"
    assert verdict.reasons[0] == "waiting for 1 of 16 parties: gemeente-16 (undecided)"
    assert verdict.reasons[1].startswith("if the round closed now: approve votes 15 of 15")
    decided = [*parties[:15], m(names[15], R)]
    assert evaluate(AV, decided, closed=False).status == "approved"


def test_av_rejected_while_open_when_certain() -> None:
    # Best case: the three undecided approve with 1 vote each: 3 of 13 cast (23.1%).
    parties = [m("roeselare", R, 10), m("izegem", None), m("tielt", None), m("wingene", P)]
    verdict = evaluate(AV, parties, closed=False)
    assert verdict.status == "rejected"
    assert verdict.reasons[0] == (
        "even if everyone still to decide (3 parties) approves: approve votes 3 of 13 cast "
        "(23.1%) fall short of 3/4"
    )


def test_av_configurable_fractions_are_exact() -> None:
    two_thirds = QualifiedMajority(votes_cast_fraction="2/3", municipal_votes_fraction="2/3")
    assert two_thirds.votes_cast_fraction == Fraction(2, 3)
    # 2 of 3 cast is exactly 2/3: meets it.
    parties = [m("ardooie", A), m("hooglede", A), m("ledegem", R)]
    verdict = evaluate(two_thirds, parties, closed=True)
    assert verdict.status == "approved"
    assert verdict.reasons[0] == "approve votes 2 of 3 cast (66.7%) meet 2/3"
    assert QualifiedMajority(votes_cast_fraction=0.75).votes_cast_fraction == Fraction(3, 4)
    assert QualifiedMajority(votes_cast_fraction=0.6667).votes_cast_fraction == Fraction(
        6667, 10000
    )
    for bad in (0, -0.5, 1.01, "5/4"):
        with pytest.raises(ValidationError):
            QualifiedMajority(votes_cast_fraction=bad)


def test_av_without_votes_cast_or_municipalities_is_rejected() -> None:
    all_abstain = [m("ardooie", X), m("hooglede", None), wvi(X, 2)]
    verdict = evaluate(AV, all_abstain, closed=True)
    assert verdict.status == "rejected"
    assert "no votes cast, so 3/4 of them cannot be reached" in verdict.reasons
    only_wvi = evaluate(AV, [wvi(A, 5)], closed=True)
    assert only_wvi.status == "rejected"
    assert only_wvi.reasons[1:] == [
        "no municipal votes cast, so 3/4 of them cannot be reached",
        "no participating municipalities to form a majority",
    ]


# --- simple majority ------------------------------------------------------------------------


def test_simple_majority_with_quorum() -> None:
    half = SimpleMajority(quorum_fraction="1/2")
    # 1 of 4 parties voted (the others silent or abstaining): quorum 1/2 not met.
    few = [m("a", A), m("b", X), m("c", None), m("d", P)]
    verdict = evaluate(half, few, closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons[1] == "1 of 4 parties cast a vote (25.0%), quorum 1/2 not met"
    # Exactly 2 of 4 voted: quorum met; 2 votes against 0: majority.
    enough = [m("a", A), m("b", A), m("c", X), m("d", None)]
    assert evaluate(half, enough, closed=True).status == "approved"
    # Weighted: 1 approve with 3 votes against 2 rejects with 1 vote each.
    weighted = [m("a", A, 3), m("b", R), m("c", R), m("d", X)]
    verdict = evaluate(half, weighted, closed=True)
    assert verdict.status == "approved"
    assert verdict.reasons[-1] == "approve votes 3 against 2 reject votes: a majority"


def test_simple_majority_tie_is_rejected() -> None:
    verdict = evaluate(SimpleMajority(), [m("a", A), m("b", R)], closed=True)
    assert verdict.status == "rejected"
    assert verdict.reasons == ["approve votes 1 against 1 reject votes: no majority"]


def test_simple_majority_open_until_all_decided() -> None:
    parties = [m("a", A, 5), m("b", R), m("c", None)]
    assert evaluate(SimpleMajority(), parties, closed=False).status == "open"
    # Best case for the undecided c (1 vote): 6 against 1 still passes, so not rejected.
    losing = [m("a", R, 5), m("b", A), m("c", None)]
    assert evaluate(SimpleMajority(), losing, closed=False).status == "rejected"


# --- edge cases and the models --------------------------------------------------------------


@pytest.mark.parametrize("rule", [Unanimity(), AV, SimpleMajority()])
def test_no_parties_is_rejected(rule: DecisionRule) -> None:
    assert evaluate(rule, [], closed=False).status == "rejected"
    assert evaluate(rule, [], closed=True).status == "rejected"


def test_duplicate_authority_is_an_error() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        evaluate(AV, [m("ardooie", A), m("ardooie", R)], closed=True)


def test_tally_while_open() -> None:
    parties = [m("a", A, 3), m("b", R, 2), m("c", X, 4), m("d", P, 5), wvi(None, 7)]
    verdict = evaluate(AV, parties, closed=False)
    assert verdict.tally.model_dump() == {
        "parties": 5,
        "approve": 1,
        "reject": 1,
        "abstain": 1,
        "pending": 2,
        "approve_votes": 3,
        "reject_votes": 2,
        "abstain_votes": 4,
        "pending_votes": 12,
    }
    assert verdict.municipal.pending_votes == 5


def test_decision_rule_is_a_discriminated_union() -> None:
    adapter: TypeAdapter[DecisionRule] = TypeAdapter(DecisionRule)
    parsed = adapter.validate_python({"kind": "qualified-majority", "votes_cast_fraction": "2/3"})
    assert parsed == QualifiedMajority(votes_cast_fraction=Fraction(2, 3))
    assert adapter.validate_json(adapter.dump_json(parsed)) == parsed
    assert adapter.validate_python({"kind": "unanimity"}) == Unanimity()
    assert adapter.validate_python({"kind": "simple-majority"}) == SimpleMajority()
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "two-thirds"})


def test_party_vote_validation() -> None:
    with pytest.raises(ValidationError):
        PartyVote(authority_id="ardooie", votes=-1, is_municipality=True)
    with pytest.raises(ValidationError):
        PartyVote(authority_id="Ardooie", votes=1, is_municipality=True)
    assert PartyVote(authority_id="ardooie", votes=0, is_municipality=True).outcome is None
