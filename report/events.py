"""One Dutch sentence per audit event, built from its kind and data fields.

The English `summary` of an event is written for logs and is never shown to the mayors; each
kind is phrased here instead. A kind this module does not know yet gets a neutral sentence
rather than its English summary, so a new event kind can never leak untranslated text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from report.data import EventRecord
from report.dutch import OUTCOME_LABELS, PHASE_LABELS, count, enumerate_nl, format_date
from schemas.common import Outcome
from schemas.template import Phase

# The only event without structured data for what it says: "phase <old> -> <new>"
# (workflows/trajectory.py, InkantelingTrajectory._changed).
_PHASE_CHANGE = re.compile(r"^phase (?P<old>[a-z-]+) -> (?P<new>[a-z-]+)$")


@dataclass(frozen=True)
class EventContext:
    """What a sentence may need besides the event: Dutch step titles and register names."""

    cooperation_name: str
    step_titles: Mapping[str, str]
    names: Mapping[str, str]
    abort_reason: str | None = None

    def step(self, step_id: str | None) -> str:
        if step_id is None:
            return "een stap"
        return f"“{self.step_titles.get(step_id, step_id)}”"

    def name(self, authority_id: str | None) -> str:
        if authority_id is None:
            return "een bestuur"
        return self.names.get(authority_id, authority_id)


def describe_event(event: EventRecord, ctx: EventContext) -> str:
    phrase = _PHRASES.get(event.kind)
    if phrase is None:
        return f"Gebeurtenis van het type “{event.kind}”."
    try:
        return phrase(event, ctx)
    except (KeyError, TypeError, ValueError):
        # Data written by an older workflow version may lack a field: say less, never fail.
        return _FALLBACKS.get(event.kind, f"Gebeurtenis van het type “{event.kind}”.")


def _iso(value: Any) -> str:
    return format_date(date.fromisoformat(str(value)))


def _started(e: EventRecord, ctx: EventContext) -> str:
    participants = len(e.data["participants"])
    return (
        f"Traject gestart met {count(participants, 'deelnemer', 'deelnemers')}; algemene "
        f"vergadering gepland op {_iso(e.data['planned_av_date'])}, ingangsdatum "
        f"{_iso(e.data['effective_date'])}."
    )


def _decision(e: EventRecord, ctx: EventContext) -> str:
    d = e.data["decision"]
    outcome = OUTCOME_LABELS[Outcome(d["outcome"])]
    round_number = int(e.data.get("round", 0))
    again = f", ronde {round_number + 1}" if round_number > 0 else ""
    who = ctx.name(e.authority_id or d["authority_id"])
    return (
        f"{ctx.step(e.step_id)}: {outcome} door {who} (zitting van "
        f"{_iso(d['session_date'])}, referentie {d['reference']}{again})."
    )


def _round_closed(e: EventRecord, ctx: EventContext) -> str:
    silent = [ctx.name(a) for a in e.data["silent"]]
    return (
        f"Termijn van {ctx.step(e.step_id)} verstreken zonder beslissing van "
        f"{enumerate_nl(silent)}; dit telt als onthouding."
    )


def _amendment(e: EventRecord, ctx: EventContext) -> str:
    a = e.data["amendment"]
    parts = [f"Voorstel gewijzigd ({a['reason']})"]
    reopened = [ctx.name(r) for r in e.data.get("reopened", [])]
    if reopened:
        parts.append(f"nieuwe beslissing gevraagd van {enumerate_nl(reopened)}")
    if a.get("planned_av_date"):
        parts.append(f"algemene vergadering nu gepland op {_iso(a['planned_av_date'])}")
    if a.get("effective_date"):
        parts.append(f"ingangsdatum nu {_iso(a['effective_date'])}")
    return "; ".join(parts) + "."


def _joined(e: EventRecord, ctx: EventContext) -> str:
    participant = e.data["participant"]
    who = ctx.names.get(participant["authority_id"], participant["name"])
    rounds = [ctx.step(r) for r in e.data.get("rounds", [])]
    tail = f" en beslist mee in {enumerate_nl(rounds)}" if rounds else ""
    return f"{who} sluit aan (olievlekprincipe){tail}."


def _task(e: EventRecord, ctx: EventContext) -> str:
    evidence = e.data["completion"]["evidence"]
    return f"Taak afgerond: {ctx.step(e.step_id)} (document: {evidence})."


def _phase(e: EventRecord, ctx: EventContext) -> str:
    match = _PHASE_CHANGE.match(e.summary)
    if match is None:
        raise ValueError("unexpected phase summary")
    return f"Nieuwe fase: {PHASE_LABELS[Phase(match['new'])]}."


def _abort_requested(e: EventRecord, ctx: EventContext) -> str:
    reason = f": {ctx.abort_reason}" if ctx.abort_reason else ""
    return f"Stopzetting van het traject gevraagd{reason}."


_Phrase = Callable[[EventRecord, EventContext], str]

_PHRASES: dict[str, _Phrase] = {
    "trajectory-started": _started,
    "step-opened": lambda e, c: f"Stap gestart: {c.step(e.step_id)}.",
    "step-done": lambda e, c: f"Stap afgerond: {c.step(e.step_id)}.",
    "task-completed": _task,
    "decision-recorded": _decision,
    "decision-passed": lambda e, c: f"Goedgekeurd: {c.step(e.step_id)}.",
    "decision-rejected": lambda e, c: (
        f"Niet goedgekeurd: {c.step(e.step_id)}. Heronderhandeling: het voorstel wordt "
        "bijgestuurd of het traject wordt gestopt."
    ),
    "round-closed": _round_closed,
    "reminder-sent": lambda e, c: f"Herinnering verstuurd voor {c.step(e.step_id)}.",
    "escalation-sent": lambda e, c: (
        f"Termijn overschreden voor {c.step(e.step_id)}; de coördinator en de betrokkenen "
        "werden verwittigd."
    ),
    "amendment": _amendment,
    "member-joined": _joined,
    "effective-date-needed": lambda e, c: (
        "De geplande ingangsdatum is voorbij; een nieuwe ingangsdatum moet worden vastgelegd."
    ),
    "effective-date-set": lambda e, c: (
        f"Ingangsdatum gewijzigd van {_iso(e.data['from'])} naar {_iso(e.data['to'])}."
    ),
    "abort-requested": _abort_requested,
    "step-cancelled": lambda e, c: f"Stap stopgezet door de stopzetting: {c.step(e.step_id)}.",
    "step-compensated": lambda e, c: f"Ongedaan gemaakt: {c.step(e.step_id)}.",
    "trajectory-aborted": lambda e, c: "Traject gestopt.",
    "trajectory-integrated": lambda e, c: f"{c.cooperation_name} is ingekanteld in DVV Midwest.",
    "phase-changed": _phase,
    "message-rejected": lambda e, c: "Een ongeldig of niet-toegelaten bericht werd geweigerd.",
    "message-repeated": lambda e, c: "Een reeds verwerkt bericht werd opnieuw ontvangen.",
}

_FALLBACKS: dict[str, str] = {
    "trajectory-started": "Traject gestart.",
    "task-completed": "Taak afgerond.",
    "decision-recorded": "Beslissing ontvangen.",
    "round-closed": "Termijn van een beslissingsronde verstreken; stilzwijgen telt als onthouding.",
    "amendment": "Voorstel gewijzigd.",
    "member-joined": "Een bestuur sluit aan (olievlekprincipe).",
    "effective-date-set": "Ingangsdatum gewijzigd.",
    "phase-changed": "Nieuwe fase.",
}
