"""How a decision round stands, in Dutch, from each party's typed outcome.

The workflow's verdict reasons are English sentences written for logs ("all 1 parties
approve"); they are never shown to the mayors. This phrases what the outcomes themselves say,
with the verb agreeing with the number of parties: "de enige partij keurt goed", "Pittem en
Wingene keuren af".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from phrasing.words import enumerate_nl
from schemas.common import Outcome


@dataclass(frozen=True)
class PartyOutcome:
    """One party of a round: its name (never its register id) and where it stands."""

    name: str
    outcome: Outcome | None  # None: no decision yet
    silent: bool = False  # no decision by the deadline: counted as abstention


# (singular, plural) of what a group of parties does, in the order a reader expects them.
_VERBS: tuple[tuple[Outcome, str, str], ...] = (
    (Outcome.APPROVE, "keurt goed", "keuren goed"),
    (Outcome.REJECT, "keurt af", "keuren af"),
    (Outcome.ABSTAIN, "onthoudt zich", "onthouden zich"),
    (Outcome.POSTPONE, "stelt de beslissing uit", "stellen de beslissing uit"),
)


def tally(parties: Sequence[PartyOutcome]) -> str:
    """'alle 5 partijen keuren goed', or the parties grouped by what they did:
    'Roeselare en Izegem keuren goed; Tielt keurt af; Pittem moet nog beslissen'."""
    if not parties:
        return "geen enkele partij heeft beslist"
    if all(p.outcome is Outcome.APPROVE and not p.silent for p in parties):
        if len(parties) == 1:
            return "de enige partij keurt goed"
        return f"alle {len(parties)} partijen keuren goed"
    groups: list[str] = []
    for outcome, one, many in _VERBS:
        names = [p.name for p in parties if p.outcome is outcome and not p.silent]
        if names:
            groups.append(f"{enumerate_nl(names)} {one if len(names) == 1 else many}")
    silent = [p.name for p in parties if p.silent]
    if silent:
        # No parentheses: the report puts the whole tally between them.
        groups.append(
            f"van {enumerate_nl(silent)} kwam binnen de termijn geen beslissing, wat als "
            "onthouding telt"
        )
    pending = [p.name for p in parties if p.outcome is None and not p.silent]
    if pending:
        verb = "moet" if len(pending) == 1 else "moeten"
        groups.append(f"{enumerate_nl(pending)} {verb} nog beslissen")
    return "; ".join(groups)
