"""One Dutch sentence per audit event, built from its kind and typed payload.

The English `summary` of an event is written for logs and is never shown to the mayors; each
kind is phrased here from its payload (schemas/events.py) instead. An event whose stored
payload lacks what its sentence needs (written by an older workflow version) gets a shorter
sentence of its kind, never its English summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError

from report.dutch import OUTCOME_LABELS, count, enumerate_nl, format_date, phase_label
from schemas import events as ev
from schemas.audit import AuditEvent, EventKind
from schemas.rules import Verdict


@dataclass(frozen=True)
class EventContext:
    """What a sentence may need besides the event: Dutch step titles, register names, whether
    the trajectory has a general assembly, and how each round stood at its verdict (by the
    verdict event's seq, see decisions.round_tallies)."""

    cooperation_name: str
    step_titles: Mapping[str, str]
    names: Mapping[str, str]
    abort_reason: str | None = None
    has_assembly: bool = True
    tallies: Mapping[int, str] = field(default_factory=dict)
    effective_date: date | None = None  # the day the register records as "ingekanteld"

    def step(self, step_id: str | None) -> str:
        if step_id is None:
            return "een stap"
        return f"“{self.step_titles.get(step_id, step_id)}”"

    def name(self, authority_id: str | None) -> str:
        if authority_id is None:
            return "een bestuur"
        return self.names.get(authority_id, authority_id)


_UNKNOWN = "Gebeurtenis in het traject."


def describe_event(event: AuditEvent, ctx: EventContext) -> str:
    phrase = _PHRASES.get(event.kind)
    if phrase is None:  # a kind newer than this report: say little, never its English summary
        return _UNKNOWN
    try:
        payload = event.payload()
    except ValidationError:
        # Data written by an older workflow version may lack a field: say less, never fail.
        return _FALLBACKS.get(event.kind, _UNKNOWN)
    return phrase(event, payload, ctx)


def _started(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.TrajectoryStarted)
    assembly = (
        f"algemene vergadering gepland op {format_date(p.planned_av_date)}, "
        if ctx.has_assembly and p.planned_av_date is not None
        else ""
    )
    return (
        f"Traject gestart met {count(len(p.participants), 'deelnemer', 'deelnemers')}; "
        f"{assembly}ingangsdatum {format_date(p.effective_date)}."
    )


def _decision(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.DecisionRecorded)
    d = p.decision
    again = f", ronde {p.round + 1}" if p.round > 0 else ""
    who = ctx.name(e.authority_id or d.authority_id)
    return (
        f"{ctx.step(e.step_id)}: {OUTCOME_LABELS[d.outcome]} door {who} (zitting van "
        f"{format_date(d.session_date)}, referentie {d.reference}{again})."
    )


def _round_closed(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.RoundClosed)
    silent = [ctx.name(a) for a in p.silent]
    return (
        f"Termijn van {ctx.step(e.step_id)} verstreken zonder beslissing van "
        f"{enumerate_nl(silent)}; dit telt als onthouding."
    )


def _round_revised(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.RoundRevised)
    who = ctx.name(p.authority_id)
    if p.before == p.after:
        result = "de uitslag blijft dezelfde"
    elif p.after is Verdict.APPROVED:
        result = "de ronde is alsnog goedgekeurd"
    else:
        result = "de goedkeuring blijft niet overeind"
    return (
        f"{ctx.step(e.step_id)}: de beslissing van {who} (zitting van "
        f"{format_date(p.session_date)}) werd tijdig genomen maar na de termijn geregistreerd; "
        f"de uitslag is herzien en {result}."
    )


def _amendment(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.AmendmentRecorded)
    a = p.amendment
    parts = [f"Voorstel gewijzigd ({a.reason})"]
    if p.restarted:
        parts.append(
            "de raad van bestuur legt een nieuwe tekst vast, de wettelijke termijn loopt "
            "opnieuw en elk lid beslist opnieuw; opnieuw te doen: "
            + enumerate_nl([ctx.step(s) for s in p.restarted])
        )
    reopened = [ctx.name(r) for r in p.reopened]
    if reopened:
        parts.append(f"nieuwe beslissing gevraagd van {enumerate_nl(reopened)}")
    if a.planned_av_date and ctx.has_assembly:
        parts.append(f"algemene vergadering nu gepland op {format_date(a.planned_av_date)}")
    if a.effective_date:
        parts.append(f"ingangsdatum nu {format_date(a.effective_date)}")
    return "; ".join(parts) + "."


def _joined(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.MemberJoined)
    who = ctx.names.get(p.participant.authority_id, p.participant.name)
    rounds = [ctx.step(r) for r in p.rounds]
    tail = f" en beslist mee in {enumerate_nl(rounds)}" if rounds else ""
    return f"{who} sluit aan (olievlekprincipe){tail}."


def _step_done(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.StepDone)
    if p.waited_until is not None:  # a waiting period: say until when it ran
        return f"Wachttijd voorbij: {ctx.step(e.step_id)} (liep tot {format_date(p.waited_until)})."
    return f"Stap afgerond: {ctx.step(e.step_id)}."


def _reminder(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.ReminderSent)
    due = f" (termijn {format_date(p.due)})" if p.due is not None else ""
    return f"Herinnering verstuurd voor {ctx.step(e.step_id)}{due}."


def _verdict(e: AuditEvent, ctx: EventContext) -> str:
    """How a round's parties stood when it was decided; nothing for a single body's decision
    (the sentence just before names the body and its decision)."""
    how = ctx.tallies.get(e.seq)
    return f" ({how})" if how else ""


def _passed(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    return f"Goedgekeurd: {ctx.step(e.step_id)}{_verdict(e, ctx)}."


def _rejected(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.DecisionRejected)
    if p.continues:
        return (
            f"Niet toegekend: {ctx.step(e.step_id)}. Het traject loopt verder; de werking "
            "wordt voortgezet zonder die middelen."
        )
    return (
        f"Niet goedgekeurd: {ctx.step(e.step_id)}{_verdict(e, ctx)}. Heronderhandeling: het "
        "voorstel wordt bijgestuurd of het traject wordt gestopt."
    )


def _task(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.TaskCompleted)
    return f"Taak afgerond: {ctx.step(e.step_id)} (document: {p.completion.evidence})."


def _phase(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.PhaseChanged)
    if p.phase is None:  # stored before the payload named the phase
        return _FALLBACKS[EventKind.PHASE_CHANGED]
    return f"Nieuwe fase: {phase_label(p.phase, has_assembly=ctx.has_assembly)}."


def _effective_date_needed(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.EffectiveDateNeeded)
    which = f" van {format_date(p.planned)}" if p.planned is not None else ""
    return (
        f"De geplande ingangsdatum{which} is voorbij; een nieuwe ingangsdatum moet worden "
        "vastgelegd."
    )


def _effective_date_set(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.EffectiveDateSet)
    return f"Ingangsdatum gewijzigd van {format_date(p.previous)} naar {format_date(p.new)}."


def _abort_requested(e: AuditEvent, p: ev.EventPayload, ctx: EventContext) -> str:
    assert isinstance(p, ev.AbortRequested)
    given = p.reason or ctx.abort_reason  # the coordinator's own words, typed in Dutch
    reason = f": {given}" if given else ""
    return f"Stopzetting van het traject gevraagd{reason}."


_Phrase = Callable[[AuditEvent, ev.EventPayload, EventContext], str]

# Every kind has its sentence: tests/test_report.py checks the mapping is complete (a kind
# added later gets the neutral sentence above until it has its own).
_PHRASES: dict[EventKind, _Phrase] = {
    EventKind.TRAJECTORY_STARTED: _started,
    EventKind.STEP_OPENED: lambda e, p, c: f"Stap gestart: {c.step(e.step_id)}.",
    EventKind.STEP_DONE: _step_done,
    EventKind.TASK_COMPLETED: _task,
    EventKind.DECISION_RECORDED: _decision,
    EventKind.DECISION_PASSED: _passed,
    EventKind.DECISION_REJECTED: _rejected,
    EventKind.ROUND_CLOSED: _round_closed,
    EventKind.ROUND_REVISED: _round_revised,
    EventKind.REMINDER_SENT: _reminder,
    EventKind.ESCALATION_SENT: lambda e, p, c: (
        f"Termijn overschreden voor {c.step(e.step_id)}; de coördinator en de betrokkenen "
        "werden verwittigd."
    ),
    EventKind.AMENDMENT: _amendment,
    EventKind.MEMBER_JOINED: _joined,
    EventKind.EFFECTIVE_DATE_NEEDED: _effective_date_needed,
    EventKind.EFFECTIVE_DATE_SET: _effective_date_set,
    EventKind.ABORT_REQUESTED: _abort_requested,
    # The stop itself is told just before ("Stopzetting van het traject gevraagd"): saying
    # again why the step ends would only repeat it.
    EventKind.STEP_CANCELLED: lambda e, p, c: f"Stap afgebroken: {c.step(e.step_id)}.",
    EventKind.STEP_COMPENSATED: lambda e, p, c: f"Ongedaan gemaakt: {c.step(e.step_id)}.",
    EventKind.TRAJECTORY_ABORTED: lambda e, p, c: "Traject gestopt.",
    EventKind.TRAJECTORY_INTEGRATED: lambda e, p, c: (
        f"Traject afgerond: {c.cooperation_name} is ingekanteld in DVV Midwest"
        + (f" op {format_date(c.effective_date)}." if c.effective_date else ".")
    ),
    EventKind.PHASE_CHANGED: _phase,
    EventKind.MESSAGE_REJECTED: lambda e, p, c: (
        "Een ongeldig of niet-toegelaten bericht werd geweigerd."
    ),
    EventKind.MESSAGE_REPEATED: lambda e, p, c: (
        "Een reeds verwerkt bericht werd opnieuw ontvangen."
    ),
}

_FALLBACKS: dict[EventKind, str] = {
    EventKind.TRAJECTORY_STARTED: "Traject gestart.",
    EventKind.TASK_COMPLETED: "Taak afgerond.",
    EventKind.DECISION_RECORDED: "Beslissing ontvangen.",
    EventKind.ROUND_CLOSED: (
        "Termijn van een beslissingsronde verstreken; stilzwijgen telt als onthouding."
    ),
    EventKind.AMENDMENT: "Voorstel gewijzigd.",
    EventKind.MEMBER_JOINED: "Een bestuur sluit aan (olievlekprincipe).",
    EventKind.EFFECTIVE_DATE_SET: "Ingangsdatum gewijzigd.",
    EventKind.PHASE_CHANGED: "Nieuwe fase.",
}
