"""Plain-text rendering for the trajectory commands: aligned tables, no terminal library.

Overdue is marked twice, with `!` in the first column and with the word `overdue`, so it
stands out on screen and can still be found with grep.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from operations.queries import History, TrajectorySummary
from schemas.common import Lane
from schemas.trajectory import Ack, DecisionInput, PartyDecision, StepView, TrajectoryStatus

OVERDUE_MARK = "!"
RECENT_EVENTS = 8
_PENDING_SHOWN = 4


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        return (indent + text).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _day(value: date | None) -> str:
    return value.isoformat() if value else "-"


def _ids(ids: Sequence[str], limit: int | None = None) -> str:
    if not ids:
        return "-"
    if limit is not None and len(ids) > limit:
        return f"{', '.join(ids[:limit])} +{len(ids) - limit}"
    return ", ".join(ids)


def ack_line(ack: Ack) -> str:
    return f"already recorded, nothing changed: {ack.message}" if ack.no_op else ack.message


# --- status ---------------------------------------------------------------------------------


def _header(status: TrajectoryStatus, today: date, web_ui: str | None) -> list[str]:
    overdue_steps = [s.id for s in status.steps if s.overdue]
    effective = _day(status.effective_date)
    if status.needs_effective_date:
        effective += f"  {OVERDUE_MARK} has passed: set a new one with `starter.py effective-date`"
    fields = [
        ("kind", f"{status.kind.value} (template v{status.template_version})"),
        ("workflow", status.workflow_id),
        ("phase", status.phase.value),
        ("calendar today", f"{_day(today)} (started {_day(status.started_on)})"),
        ("general assembly", _day(status.planned_av_date)),
        ("effective date", effective),
        ("next deadline", _day(status.next_deadline)),
        ("pending", _ids(status.pending_authorities)),
        (
            "overdue",
            f"{OVERDUE_MARK} overdue: {', '.join(overdue_steps)}" if overdue_steps else "no",
        ),
    ]
    if status.finished_on is not None:
        fields.append(("finished", _day(status.finished_on)))
    if status.abort_reason is not None:
        fields.append(("abort reason", status.abort_reason))
    if status.rejected_messages:
        fields.append(("rejected signals", str(status.rejected_messages)))
    if web_ui is not None:
        fields.append(("web UI", web_ui))
    width = max(len(name) for name, _ in fields)
    title = f"{status.cooperation_name} ({status.cooperation_id})"
    return [title, *(f"  {name.ljust(width)}  {value}" for name, value in fields)]


def _step_row(step: StepView) -> list[str]:
    state = "overdue" if step.overdue else step.status.value
    if step.round_number:
        state += f" (round {step.round_number + 1})"
    return [
        OVERDUE_MARK if step.overdue else "",
        step.id,
        state,
        step.kind.value,
        _day(step.due),
        _day(step.completed_on),
        step.title,
    ]


def _steps(status: TrajectoryStatus) -> list[str]:
    lines: list[str] = []
    for lane in Lane:
        steps = [s for s in status.steps if s.lane is lane]
        if not steps:
            continue
        lines += ["", lane.value.upper()]
        lines += table(
            ("", "STEP", "STATUS", "KIND", "DUE", "DONE", "TITLE"),
            [_step_row(s) for s in steps],
            indent="  ",
        )
    return lines


def _votes(decision: DecisionInput | None) -> str:
    if decision is None or (
        decision.votes_for is None
        and decision.votes_against is None
        and decision.votes_abstained is None
    ):
        return "-"
    counts = (decision.votes_for, decision.votes_against, decision.votes_abstained)
    return "/".join("?" if n is None else str(n) for n in counts)


def _outcome(party: PartyDecision) -> str:
    if party.counted_as_abstention:
        return "abstain (silence)"
    return party.outcome.value if party.outcome is not None else "pending"


def _decisions(status: TrajectoryStatus) -> list[str]:
    rows = [
        [
            OVERDUE_MARK if step.overdue and party.outcome is None else "",
            step.id,
            party.authority_id,
            _outcome(party),
            _day(party.decision.session_date) if party.decision else "-",
            party.decision.reference if party.decision else "-",
            _votes(party.decision),
        ]
        for step in status.steps
        for party in step.parties
    ]
    if not rows:
        return []
    headers = ("", "STEP", "AUTHORITY", "OUTCOME", "SESSION", "REFERENCE", "FOR/AGAINST/ABST")
    lines = ["", "DECISIONS", *table(headers, rows, indent="  ")]
    verdicts = [(s.id, s.verdict) for s in status.steps if s.verdict]
    lines += [f"  {step_id}: {verdict}" for step_id, verdict in verdicts]
    return lines


def _participants(status: TrajectoryStatus) -> list[str]:
    rows = [
        [p.authority_id, p.name, p.kind.value, "yes" if p.is_midwest_member else "no", str(p.votes)]
        for p in status.participants
    ]
    headers = ("AUTHORITY", "NAME", "KIND", "MIDWEST", "VOTES")
    return ["", "PARTICIPANTS", *table(headers, rows, indent="  ")]


def _recent(status: TrajectoryStatus) -> list[str]:
    entries = status.timeline[-RECENT_EVENTS:]
    if not entries:
        return []
    lines = [
        "",
        f"RECENT (last {len(entries)} of {len(status.timeline)}; all: `starter.py history`)",
    ]
    lines += [f"  {e.seq:>4}  {_day(e.on)}  {e.summary}" for e in entries]
    return lines


def status_lines(
    status: TrajectoryStatus, today: date | None = None, web_ui: str | None = None
) -> list[str]:
    """`today`: the trajectory's calendar date now (the query's own is as of its last step)."""
    return [
        *_header(status, today or status.today, web_ui),
        *_steps(status),
        *_decisions(status),
        *_participants(status),
        *_recent(status),
    ]


# --- list and history -----------------------------------------------------------------------


def summary_lines(summaries: Sequence[TrajectorySummary]) -> list[str]:
    if not summaries:
        return ["no trajectories match"]
    rows = [
        [
            OVERDUE_MARK if s.overdue else "",
            s.cooperation_id,
            s.kind or "-",
            s.phase or "-",
            s.execution_status,
            _day(s.effective_date),
            _ids(s.pending_authorities, _PENDING_SHOWN),
            f"{s.started_at:%Y-%m-%d}",
        ]
        for s in summaries
    ]
    headers = ("", "COOPERATION", "KIND", "PHASE", "STATE", "EFFECTIVE", "PENDING", "STARTED")
    return table(headers, rows)


def history_lines(history: History) -> list[str]:
    title = f"history of {history.workflow_id}, run {history.run_id}"
    if history.other_runs:
        title += f" (other runs: {', '.join(history.other_runs)}; choose one with --run)"
    rows = [[str(e.seq), _day(e.on), e.kind, e.actor or "-", e.summary] for e in history.events]
    return [title, *table(("SEQ", "DATE", "KIND", "ACTOR", "SUMMARY"), rows)]
