"""Evaluating a decision round (councils deciding on an inkanteling, the AV voting) against a
DecisionRule. Pure and exact: every comparison uses integers or fractions.Fraction.

A round is evaluated while it runs (`closed=False`) and once its deadline has passed
(`closed=True`). While it runs, the verdict is "open" unless it is already certain:
- rejected as soon as the rule fails even if every party still to decide (undecided or
  postponed) approved: every rule here only gets easier to meet when a party approves, so that
  best case settles it;
- approved only when every party has a final outcome (approve, reject, abstain): each council
  has the right to decide before the round ends, even if it can no longer change the result.
At the deadline, undecided and postponed parties count as abstentions (domain brief, step 7).

Empty categories fail rather than pass: no votes cast, no municipal votes cast, no
participating municipalities or no parties at all mean the condition concerned is not met.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import assert_never

from pydantic import BaseModel, ConfigDict

from schemas.common import Outcome
from schemas.rules import (
    DecisionRule,
    PartyVote,
    QualifiedMajority,
    SimpleMajority,
    Unanimity,
    Verdict,
)


class Tally(BaseModel):
    """Counts of parties (one each) and of their weighted votes per outcome. `pending` holds
    undecided and postponed parties while the round is open; at close they are in `abstain`."""

    model_config = ConfigDict(frozen=True)

    parties: int
    approve: int
    reject: int
    abstain: int
    pending: int
    approve_votes: int
    reject_votes: int
    abstain_votes: int
    pending_votes: int


class RoundVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Verdict
    reasons: list[str]  # English, one line per condition or remark
    tally: Tally  # all parties
    municipal: Tally  # municipalities only


# A party with the outcome it counts with in one scenario: APPROVE, REJECT, ABSTAIN, or None
# for a party still to decide (only in the tally of an open round).
_Counted = tuple[PartyVote, Outcome | None]


@dataclass(frozen=True)
class _Check:
    passed: bool
    reason: str


def _percent(part: int, whole: int) -> str:
    # Exact rounding to one decimal, for messages only.
    tenths = round(Fraction(1000 * part, whole))
    return f"{tenths // 10}.{tenths % 10}%"


def _votes(counted: Sequence[_Counted], outcome: Outcome | None) -> int:
    return sum(party.votes for party, counted_as in counted if counted_as == outcome)


def _count(counted: Sequence[_Counted], outcome: Outcome | None) -> int:
    return sum(1 for _, counted_as in counted if counted_as == outcome)


def _share_check(label: str, counted: Sequence[_Counted], threshold: Fraction) -> _Check:
    approve = _votes(counted, Outcome.APPROVE)
    cast = approve + _votes(counted, Outcome.REJECT)
    if cast == 0:
        return _Check(False, f"no {label} cast, so {threshold} of them cannot be reached")
    passed = Fraction(approve, cast) >= threshold
    verb = "meet" if passed else "fall short of"
    return _Check(
        passed,
        f"approve {label} {approve} of {cast} cast ({_percent(approve, cast)}) {verb} {threshold}",
    )


def _unanimity(counted: Sequence[_Counted]) -> list[_Check]:
    if not counted:
        return [_Check(False, "no parties take part, so nobody can approve unanimously")]
    missing = [
        f"{party.authority_id} ({counted_as or 'undecided'})"
        for party, counted_as in counted
        if counted_as != Outcome.APPROVE
    ]
    if missing:
        return [_Check(False, "unanimity fails: not approved by " + ", ".join(missing))]
    return [_Check(True, f"all {len(counted)} parties approve")]


def _qualified(rule: QualifiedMajority, counted: Sequence[_Counted]) -> list[_Check]:
    municipal = [item for item in counted if item[0].is_municipality]
    checks = [
        _share_check("votes", counted, rule.votes_cast_fraction),
        _share_check("municipal votes", municipal, rule.municipal_votes_fraction),
    ]
    if rule.municipality_majority:
        total = len(municipal)
        approving = _count(municipal, Outcome.APPROVE)
        if total == 0:
            checks.append(_Check(False, "no participating municipalities to form a majority"))
        else:
            passed = 2 * approving > total
            relation = "more than" if passed else "not more than"
            checks.append(
                _Check(
                    passed,
                    f"{approving} of {total} participating municipalities approve "
                    f"({_percent(approving, total)}), {relation} half",
                )
            )
    return checks


def _simple(rule: SimpleMajority, counted: Sequence[_Counted]) -> list[_Check]:
    checks: list[_Check] = []
    if rule.quorum_fraction > 0:
        total = len(counted)
        voting = _count(counted, Outcome.APPROVE) + _count(counted, Outcome.REJECT)
        passed = total > 0 and Fraction(voting, total) >= rule.quorum_fraction
        share = f" ({_percent(voting, total)})" if total else ""
        checks.append(
            _Check(
                passed,
                f"{voting} of {total} parties cast a vote{share}, quorum "
                f"{rule.quorum_fraction} {'met' if passed else 'not met'}",
            )
        )
    approve = _votes(counted, Outcome.APPROVE)
    reject = _votes(counted, Outcome.REJECT)
    if approve + reject == 0:
        checks.append(_Check(False, "no votes cast, so there is no majority"))
    else:
        passed = approve > reject
        result = "a majority" if passed else "no majority"
        checks.append(
            _Check(passed, f"approve votes {approve} against {reject} reject votes: {result}")
        )
    return checks


def _checks(rule: DecisionRule, counted: Sequence[_Counted]) -> list[_Check]:
    if isinstance(rule, Unanimity):
        return _unanimity(counted)
    if isinstance(rule, QualifiedMajority):
        return _qualified(rule, counted)
    if isinstance(rule, SimpleMajority):
        return _simple(rule, counted)
    assert_never(rule)


def _tally(counted: Sequence[_Counted]) -> Tally:
    return Tally(
        parties=len(counted),
        approve=_count(counted, Outcome.APPROVE),
        reject=_count(counted, Outcome.REJECT),
        abstain=_count(counted, Outcome.ABSTAIN),
        pending=_count(counted, None),
        approve_votes=_votes(counted, Outcome.APPROVE),
        reject_votes=_votes(counted, Outcome.REJECT),
        abstain_votes=_votes(counted, Outcome.ABSTAIN),
        pending_votes=_votes(counted, None),
    )


def _n_parties(count: int) -> str:
    return f"{count} party" if count == 1 else f"{count} parties"


def _is_pending(party: PartyVote) -> bool:
    return party.outcome is None or party.outcome is Outcome.POSTPONE


def _describe_pending(pending: Sequence[PartyVote]) -> str:
    return ", ".join(
        f"{p.authority_id} ({'postponed' if p.outcome is Outcome.POSTPONE else 'undecided'})"
        for p in pending
    )


def _verdict(status: Verdict, reasons: list[str], counted: Sequence[_Counted]) -> RoundVerdict:
    return RoundVerdict(
        status=status,
        reasons=reasons,
        tally=_tally(counted),
        municipal=_tally([item for item in counted if item[0].is_municipality]),
    )


def evaluate(rule: DecisionRule, parties: Sequence[PartyVote], *, closed: bool) -> RoundVerdict:
    """The verdict of a decision round under `rule` (see the module docstring).

    `closed` is True once the round's deadline has passed. Raises ValueError when an
    authority appears twice.
    """
    seen: set[str] = set()
    for party in parties:
        if party.authority_id in seen:
            raise ValueError(f"authority {party.authority_id!r} appears twice in the round")
        seen.add(party.authority_id)

    pending = [p for p in parties if _is_pending(p)]
    # Finally decided parties count with their outcome; pending ones differ per scenario.
    as_abstain: list[_Counted] = [
        (p, Outcome.ABSTAIN if _is_pending(p) else p.outcome) for p in parties
    ]

    if closed:
        checks = _checks(rule, as_abstain)
        passed = all(c.passed for c in checks)
        reasons = [c.reason for c in checks]
        if pending:
            reasons.insert(
                0,
                f"deadline passed, counted as abstaining for lack of a final decision: "
                f"{_describe_pending(pending)}",
            )
        return _verdict(Verdict.APPROVED if passed else Verdict.REJECTED, reasons, as_abstain)

    as_is: list[_Counted] = [(p, None if _is_pending(p) else p.outcome) for p in parties]
    best_case = _checks(
        rule, [(p, Outcome.APPROVE if _is_pending(p) else p.outcome) for p in parties]
    )
    if not all(c.passed for c in best_case):
        prefix = (
            f"even if everyone still to decide ({_n_parties(len(pending))}) approves: "
            if pending
            else ""
        )
        return _verdict(Verdict.REJECTED, [prefix + c.reason for c in best_case], as_is)
    if not pending:
        return _verdict(Verdict.APPROVED, [c.reason for c in best_case], as_is)
    reasons = [
        f"waiting for {len(pending)} of {len(parties)} parties: {_describe_pending(pending)}"
    ]
    reasons += [f"if the round closed now: {c.reason}" for c in _checks(rule, as_abstain)]
    return _verdict(Verdict.OPEN, reasons, as_is)
