"""From loaded data to what the report says: Dutch sentences, tables and dates, unescaped.

Both renderers (Markdown, HTML) lay out this one view, so the two formats can never disagree
on a number. Nothing here escapes: each renderer escapes for its own format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from report import progress
from report.data import ReportData, TrajectoryRecord
from report.decisions import DecisionLine, decision_lines, decision_marks, round_tallies
from report.dutch import (
    KIND_LONG,
    KIND_SHORT,
    LANE_LABELS,
    STRUCTURE_END,
    TRANSFER_KINDS,
    count,
    days,
    enumerate_nl,
    format_date,
    format_optional_date,
    phase_label,
    yes_no,
)
from report.events import EventContext, describe_event
from report.progress import State
from report.timeline_svg import build_timeline_svg
from schemas.audit import AuditEvent, EventKind
from schemas.common import Outcome, StepKind
from schemas.template import Phase
from schemas.trajectory import TrajectoryStatus

TITLE = "Stand van zaken inkanteling samenwerkingsverbanden"
_STATE_ORDER: dict[State, int] = {"running": 0, "integrated": 1, "aborted": 2}


@dataclass(frozen=True)
class SummaryRow:
    anchor: str
    name: str
    kind: str
    phase: str
    av_date: str
    effective_date: str
    pending: str
    next_deadline: str
    overdue: bool


@dataclass(frozen=True)
class PendingDecision:
    step: str
    due: str
    waiting_for: tuple[str, ...]


@dataclass(frozen=True)
class OverdueItem:
    title: str
    lane: str
    due: str
    late: str
    waiting_for: tuple[str, ...]


@dataclass(frozen=True)
class OpenStep:
    title: str
    lane: str
    since: str
    due: str
    overdue: bool


@dataclass(frozen=True)
class EventLine:
    on: str
    text: str


@dataclass(frozen=True)
class TrajectorySection:
    anchor: str
    name: str
    state: State
    lead: str
    facts: tuple[tuple[str, str], ...]
    source_note: str | None
    overdue: tuple[OverdueItem, ...]
    decisions: tuple[DecisionLine, ...]
    pending: tuple[PendingDecision, ...]
    open_steps: tuple[OpenStep, ...]
    events: tuple[EventLine, ...]
    timeline_svg: str


@dataclass(frozen=True)
class ReportView:
    title: str
    intro: tuple[str, ...]
    summary: tuple[SummaryRow, ...]
    sections: tuple[TrajectorySection, ...]
    events_note: str
    footer: str


def build_view(data: ReportData, *, generated_at: datetime) -> ReportView:
    records = sorted(
        data.trajectories,
        key=lambda r: (
            _STATE_ORDER[progress.state_of(r.status)],
            r.status.cooperation_name,
            r.started_at,
        ),
    )
    anchors = _anchors(records)
    pairs = list(zip(records, anchors, strict=True))
    summary = tuple(_summary_row(r, anchor, data.report_date) for r, anchor in pairs)
    return ReportView(
        title=f"{TITLE} — {format_date(data.report_date)}",
        intro=_intro(data, records, summary),
        summary=summary,
        sections=tuple(_section(r, anchor, data) for r, anchor in pairs),
        events_note=_events_note(data),
        footer=(
            f"Opgemaakt op {format_date(generated_at.date())} om {generated_at:%H:%M} uit de "
            "trajecten en het register van DVV Midwest."
        ),
    )


# --- the whole report -----------------------------------------------------------------------


def _anchors(records: list[TrajectoryRecord]) -> list[str]:
    """HTML ids from register ids; a cooperation with several trajectories gets -2, -3..."""
    seen: dict[str, int] = {}
    anchors = []
    for record in records:
        base = f"traject-{record.status.cooperation_id}"
        seen[base] = seen.get(base, 0) + 1
        anchors.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return anchors


def _intro(
    data: ReportData, records: list[TrajectoryRecord], summary: tuple[SummaryRow, ...]
) -> tuple[str, ...]:
    states = [progress.state_of(r.status) for r in records]
    running, integrated, aborted = (states.count(s) for s in ("running", "integrated", "aborted"))
    parts = []
    if running:
        parts.append("1 traject loopt" if running == 1 else f"{running} trajecten lopen")
    if integrated:
        parts.append(
            "1 samenwerkingsverband is ingekanteld"
            if integrated == 1
            else f"{integrated} samenwerkingsverbanden zijn ingekanteld"
        )
    if aborted:
        parts.append(
            "1 traject werd gestopt" if aborted == 1 else f"{aborted} trajecten werden gestopt"
        )
    when = f"Stand op {format_date(data.report_date)}"
    lines = [
        "Overzicht van de trajecten om samenwerkingsverbanden in te kantelen in DVV Midwest, "
        "ter voorbereiding van het Midwestoverleg.",
        f"{when}: {enumerate_nl(parts)}." if parts else f"{when}: er zijn nog geen trajecten.",
    ]
    late = sum(1 for row in summary if row.overdue)
    if late == 1:
        lines.append("Bij 1 traject is er achterstand (zie “Achterstand” bij dat traject).")
    elif late:
        lines.append(
            f"Bij {late} trajecten is er achterstand (zie “Achterstand” bij die trajecten)."
        )
    stale = sum(1 for r in records if progress.state_of(r.status) == "running" and not r.live)
    if stale:
        lines.append(
            "De actuele stand kon niet worden opgevraagd voor "
            f"{count(stale, 'lopend traject', 'lopende trajecten')}; daar geldt de stand van "
            "de laatste registratie."
        )
    return tuple(lines)


def _events_note(data: ReportData) -> str:
    if data.since is None:
        return "Eerste verslag: alle gebeurtenissen sinds de start van het traject."
    origin = "het vorige verslag" if data.since_source == "previous-report" else "gevraagde datum"
    return f"Gebeurtenissen vanaf {format_date(data.since)} ({origin})."


def _summary_row(record: TrajectoryRecord, anchor: str, report_date: date) -> SummaryRow:
    status = record.status
    running = progress.state_of(status) == "running"
    day = progress.as_of(record, report_date)
    upcoming = progress.next_deadline(status, day) if running else None
    assembly = progress.has_general_assembly(status)
    return SummaryRow(
        anchor=anchor,
        name=status.cooperation_name,
        kind=KIND_SHORT[status.kind],
        phase=phase_label(status.phase, has_assembly=assembly),
        av_date=(
            format_date(status.planned_av_date)
            if assembly and status.planned_av_date is not None
            else "—"
        ),
        effective_date=format_date(status.effective_date),
        pending=str(progress.pending_count(status)) if running else "—",
        next_deadline=format_date(upcoming[0]) if upcoming else "—",
        overdue=running and progress.any_late(status, day),
    )


# --- one trajectory -------------------------------------------------------------------------


def _names(record: TrajectoryRecord, data: ReportData) -> dict[str, str]:
    """Register names first; the name given at the start for a party the register lacks."""
    names = {p.authority_id: p.name for p in record.status.participants}
    return {**names, **data.cooperation_names, **data.authority_names}


def _section(record: TrajectoryRecord, anchor: str, data: ReportData) -> TrajectorySection:
    status = record.status
    state = progress.state_of(status)
    day = progress.as_of(record, data.report_date)
    names = _names(record, data)
    titles = {s.id: s.title for s in status.steps}
    ctx = EventContext(
        status.cooperation_name,
        titles,
        names,
        status.abort_reason,
        has_assembly=progress.has_general_assembly(status),
        tallies=round_tallies(record, names),
        effective_date=status.effective_date,
    )
    running = state == "running"
    return TrajectorySection(
        anchor=anchor,
        name=status.cooperation_name,
        state=state,
        lead=_lead(record, state),
        facts=_facts(record, state, day, names, data.hosts.get(status.cooperation_id)),
        source_note=_source_note(record) if running else None,
        overdue=_overdue(status, day, names) if running else (),
        decisions=decision_lines(record, titles, names),
        pending=_pending(status, names) if running else (),
        open_steps=_open_step_lines(status, day) if running else (),
        events=tuple(
            EventLine(on=format_date(e.on), text=describe_event(e, ctx))
            for e in _news(record.events, data.since)
        ),
        timeline_svg=build_timeline_svg(
            status,
            as_of=day,
            decisions=decision_marks(record, titles, names),
            show_today=running,
            show_assembly=ctx.has_assembly,
        ),
    )


# Events that finish a step; a step that opened and finished on the same day is told once.
_FINISHING = frozenset(
    {
        EventKind.STEP_DONE,
        EventKind.TASK_COMPLETED,
        EventKind.DECISION_PASSED,
        EventKind.DECISION_REJECTED,
    }
)


def _news(events: tuple[AuditEvent, ...], since: date | None) -> list[AuditEvent]:
    """The events on or after `since` (inclusive, so nothing recorded later on the day of the
    previous report falls through), without the openings of steps finished that same day."""
    listed = [e for e in events if since is None or e.on >= since]
    finished = {(e.step_id, e.on) for e in listed if e.kind in _FINISHING}
    return [
        e for e in listed if not (e.kind is EventKind.STEP_OPENED and (e.step_id, e.on) in finished)
    ]


def _aborted_by(record: TrajectoryRecord) -> str | None:
    for event in record.events:
        if event.kind is EventKind.ABORT_REQUESTED and event.actor:
            return event.actor
    return None


def _sentence(text: str) -> str:
    """User text as a sentence: a closing full stop unless it already ends in punctuation."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def _lead(record: TrajectoryRecord, state: State) -> str:
    status = record.status
    finished = format_optional_date(status.finished_on)
    if state == "integrated":
        # The register's date: the effective date (what followed it is in the facts below).
        day = format_date(status.effective_date)
        return f"{status.cooperation_name} is op {day} ingekanteld in DVV Midwest."
    if state == "aborted":
        reason = _sentence(status.abort_reason or "niet opgegeven")
        who = _aborted_by(record)
        by = f" Stopzetting gevraagd door: {_sentence(who)}" if who else ""
        if status.finished_on is None:  # the abort is being carried out right now
            doing = "Het traject wordt gestopt; afgeronde stappen worden ongedaan gemaakt."
            return f"{doing} Reden: {reason}{by}"
        return f"Het traject werd op {finished} gestopt. Reden: {reason}{by}"
    phase = phase_label(status.phase, has_assembly=progress.has_general_assembly(status))
    lead = f"Het traject loopt sinds {format_date(status.started_on)} en zit in de fase “{phase}”."
    if status.phase is Phase.RENEGOTIATION:
        lead += (
            " Een beslissing werd niet goedgekeurd: het voorstel moet worden bijgestuurd of het "
            "traject gestopt."
        )
    if status.needs_effective_date:
        lead += " De geplande ingangsdatum is voorbij: er is een nieuwe ingangsdatum nodig."
    return lead


def _participants(status: TrajectoryStatus, names: Mapping[str, str]) -> str:
    labels = [
        names.get(p.authority_id, p.name) + ("" if p.is_midwest_member else " (niet-Midwest)")
        for p in status.participants
    ]
    return f"{enumerate_nl(labels)} ({len(labels)})"


def _transferred(counts: Mapping[str, int]) -> str | None:
    parts = [count(counts[k], *words) for k, words in TRANSFER_KINDS.items() if counts.get(k)]
    return ", ".join(parts) if parts else None


def _seconded(number: int) -> str | None:
    """Seconded staff stay employed where they were: told apart from what was transferred."""
    return count(number, *TRANSFER_KINDS["staff"]) if number else None


def _facts(
    record: TrajectoryRecord,
    state: State,
    day: date,
    names: Mapping[str, str],
    host: str | None,
) -> tuple[tuple[str, str], ...]:
    status = record.status
    assembly = progress.has_general_assembly(status)
    facts = [("Vorm", KIND_LONG[status.kind])]
    if host is not None:  # the register knows the shared service's trekkende gemeente
        facts.append(("Trekkende gemeente", names.get(host, host)))
    facts += [
        ("Deelnemers", _participants(status, names)),
        ("Fase", phase_label(status.phase, has_assembly=assembly)),
        ("Gestart op", format_date(status.started_on)),
    ]
    if assembly and status.planned_av_date is not None:  # an informal overleg has none
        facts.append(("Algemene vergadering (gepland)", format_date(status.planned_av_date)))
    facts.append(("Ingangsdatum", format_date(status.effective_date)))
    if status.merged:
        ends = (f"{m.name} ({STRUCTURE_END[m.end]})" for m in status.merged)
        facts.append(("Samengebracht", "; ".join(ends)))
    if state == "integrated":
        # The register's date: the effective date, also when the deed or a formal end
        # followed later (then said plainly, with what followed).
        facts.append(("Ingekanteld op", format_date(status.effective_date)))
        later = _completed_after_effective_date(status)
        if status.finished_on is not None and status.finished_on > status.effective_date:
            facts.append(
                (
                    "Traject afgerond op",
                    format_date(status.finished_on)
                    + (f"; na de ingangsdatum volgden nog: {'; '.join(later)}" if later else ""),
                )
            )
        if status.continues_as is not None:
            facts.append(("Voortgezet als", status.continues_as))
        moved = _transferred(record.transferred)
        if moved:
            facts.append(("Overgedragen", moved))
        lent = _seconded(record.seconded)
        if lent:
            facts.append(("Gedetacheerd", lent))
    elif state == "aborted":
        facts.append(("Gestopt op", format_optional_date(status.finished_on)))
    else:
        upcoming = progress.next_deadline(status, day)
        if upcoming is None:
            facts.append(("Volgende termijn", "geen"))
        else:
            due, steps = upcoming
            what = "; ".join(s.title for s in steps)
            facts.append(("Volgende termijn", f"{format_date(due)} — {what}"))
        facts.append(("Achterstand", yes_no(progress.any_late(status, day))))
    return tuple(facts)


def _completed_after_effective_date(status: TrajectoryStatus) -> list[str]:
    """The people's steps (tasks, decisions) done after the effective date, by title."""
    return [
        s.title
        for s in status.steps
        if s.completed_on is not None
        and s.completed_on > status.effective_date
        and s.kind in (StepKind.TASK, StepKind.DECISION, StepKind.DECISION_ROUND)
    ]


def _source_note(record: TrajectoryRecord) -> str:
    if record.live:
        return "Actuele stand, rechtstreeks opgevraagd."
    return (
        f"Stand volgens de laatste registratie van {format_date(record.status.today)}; de "
        "actuele stand kon niet worden opgevraagd."
    )


def _overdue(
    status: TrajectoryStatus, day: date, names: Mapping[str, str]
) -> tuple[OverdueItem, ...]:
    return tuple(
        OverdueItem(
            title=step.title,
            lane=LANE_LABELS[step.lane],
            due=format_date(step.due),
            late=days((day - step.due).days),
            waiting_for=tuple(names.get(a, a) for a in progress.pending_parties(step)),
        )
        for step in progress.open_steps(status)
        if progress.is_late(step, day) and step.due is not None
    )


def _pending(status: TrajectoryStatus, names: Mapping[str, str]) -> tuple[PendingDecision, ...]:
    result = []
    for step in progress.open_steps(status):
        waiting = []
        for party in step.parties:
            if party.outcome in progress.FINAL_OUTCOMES:
                continue
            label = names.get(party.authority_id, party.authority_id)
            if party.outcome is Outcome.POSTPONE and party.decision is not None:
                label += f" (uitstel op {format_date(party.decision.session_date)})"
            waiting.append(label)
        if waiting:
            due = format_optional_date(step.due)
            result.append(PendingDecision(step=step.title, due=due, waiting_for=tuple(waiting)))
    return tuple(result)


def _open_step_lines(status: TrajectoryStatus, day: date) -> tuple[OpenStep, ...]:
    return tuple(
        OpenStep(
            title=step.title,
            lane=LANE_LABELS[step.lane],
            since=format_optional_date(step.opened_on),
            due=format_optional_date(step.due),
            overdue=progress.is_late(step, day),
        )
        for step in progress.open_steps(status)
    )
