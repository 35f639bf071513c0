"""The report's Dutch, as the mayors read it: built from trajectories held in memory, so every
sentence below is checked by hand without a server.

Rules (the project's issue on the report's language): dates written out, authorities by name,
no English and no IT words, singular and plural right, no tautologies, waiting periods with
their end date, each decision once in the round it belongs to, a secondment reported as such,
and no general assembly for a trajectory whose template has none.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import asyncpg

from report.data import DecisionRecord, ReportData, TrajectoryRecord, load_report_data
from report.decisions import decision_lines
from report.events import EventContext, describe_event
from report.render_html import render_html
from report.render_markdown import render_markdown
from report.view import ReportView, build_view
from schemas import events as ev
from schemas.audit import AuditEvent
from schemas.common import CooperationKind, Lane, Outcome, StepKind
from schemas.template import Phase
from schemas.trajectory import (
    Amendment,
    Participant,
    PartyDecision,
    RecordedDecision,
    StepStatus,
    StepView,
    TrajectoryStatus,
)

REPORT_DAY = date(2041, 3, 1)
ROUND = "council-round"
ROUND_TITLE = "Beslissing van elke gemeenteraad en mandaat voor de AV-afgevaardigde"
# Register names (ids on the left never appear in a sentence).
REGISTER = {
    "roeselare": "Roeselare",
    "izegem": "Izegem",
    "tielt": "Tielt",
    "pittem": "Pittem",
    "wingene": "Wingene",
    "dvv-midwest-rvb": "DVV Midwest, raad van bestuur",
    "dvv-midwest-av": "DVV Midwest, algemene vergadering",
}
# Dates in ISO form, or as day-month-year digits: never in a sentence for the mayors.
ISO_OR_DIGITS = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{4}\b")


def _decision(authority: str, outcome: Outcome, day: date, ref: str) -> RecordedDecision:
    return RecordedDecision(
        authority_id=authority,
        outcome=outcome,
        session_date=day,
        reference=ref,  # references without dates or ids: any ISO date found is the report's
        step_id=ROUND,
        recorded_by="Secretariaat Midwest",
        sent_at=datetime(day.year, day.month, day.day, 20, tzinfo=UTC),
    )


class _Journal:
    """Events with consecutive numbers, as the journal writes them."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def add(
        self,
        payload: ev.EventPayload,
        on: date,
        *,
        step_id: str | None = None,
        authority_id: str | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            seq=len(self.events) + 1,
            kind=payload.KIND,
            on=on,
            at=datetime(on.year, on.month, on.day, 21, tzinfo=UTC),
            summary="ENGLISH SUMMARY, never shown",
            step_id=step_id,
            authority_id=authority_id,
            data=ev.payload_data(payload),
        )
        self.events.append(event)
        return event

    def decided(self, d: RecordedDecision, round_number: int) -> None:
        self.add(
            ev.DecisionRecorded(decision=d, round=round_number),
            d.session_date,
            step_id=ROUND,
            authority_id=d.authority_id,
        )


def _step(
    step_id: str,
    title: str,
    *,
    kind: StepKind = StepKind.TASK,
    lane: Lane = Lane.LEGAL,
    phase: Phase = Phase.PREPARATION,
    status: StepStatus = StepStatus.DONE,
    due: date | None = None,
    opened_on: date | None = date(2040, 12, 1),
    round_number: int = 0,
    parties: tuple[PartyDecision, ...] = (),
) -> StepView:
    return StepView(
        id=step_id,
        title=title,
        lane=lane,
        kind=kind,
        phase=phase,
        status=status,
        due=due,
        opened_on=opened_on,
        completed_on=opened_on if status is StepStatus.DONE else None,
        round_number=round_number,
        parties=parties,
    )


def _status(
    cooperation_id: str,
    name: str,
    kind: CooperationKind,
    participants: tuple[str, ...],
    steps: tuple[StepView, ...],
    *,
    phase: Phase = Phase.COUNCIL_ROUND,
    finished_on: date | None = None,
    abort_reason: str | None = None,
    today: date = REPORT_DAY,
    planned_av_date: date = date(2041, 5, 19),
    effective_date: date = date(2041, 7, 1),
) -> TrajectoryStatus:
    return TrajectoryStatus(
        workflow_id=f"inkanteling-{cooperation_id}",
        cooperation_id=cooperation_id,
        cooperation_name=name,
        kind=kind,
        template_version=1,
        phase=phase,
        today=today,
        started_on=date(2040, 12, 1),
        planned_av_date=planned_av_date,
        effective_date=effective_date,
        needs_effective_date=False,
        participants=tuple(Participant(authority_id=p, name=REGISTER[p]) for p in participants),
        steps=steps,
        pending_authorities=(),
        overdue=False,
        next_deadline=None,
        timeline=(),
        rejected_messages=0,
        finished_on=finished_on,
        abort_reason=abort_reason,
    )


def _record(
    status: TrajectoryStatus,
    journal: _Journal,
    *,
    decisions: tuple[DecisionRecord, ...] = (),
    live: bool = True,
    transferred: dict[str, int] | None = None,
    seconded: int = 0,
) -> TrajectoryRecord:
    return TrajectoryRecord(
        trajectory_id=f"{status.workflow_id}/run",
        workflow_id=status.workflow_id,
        run_id="run",
        started_at=datetime(2040, 12, 1, 8, tzinfo=UTC),
        finished=status.finished_on is not None,
        status=status,
        live=live,
        events=tuple(journal.events),
        decisions=decisions,
        transferred=transferred or {},
        seconded=seconded,
    )


def _row(d: RecordedDecision, round_number: int) -> DecisionRecord:
    return DecisionRecord(
        step_id=d.step_id,
        authority_id=d.authority_id,
        round_number=round_number,
        outcome=d.outcome,
        session_date=d.session_date,
        reference=d.reference,
    )


def _data(*records: TrajectoryRecord, hosts: dict[str, str] | None = None) -> ReportData:
    return ReportData(
        report_date=REPORT_DAY,
        since=None,
        since_source="none",
        trajectories=records,
        authority_names=dict(REGISTER),
        cooperation_names={},
        hosts=hosts or {},
    )


def _view(*records: TrajectoryRecord, hosts: dict[str, str] | None = None) -> ReportView:
    data = _data(*records, hosts=hosts)
    return build_view(data, generated_at=datetime(2041, 3, 1, 9, 30, tzinfo=UTC))


# --- the amended round -----------------------------------------------------------------------
#
# Intergemeentelijk archiefteam, five councils. Round 1 (all on 13 January 2041): Roeselare,
# Izegem and Tielt approve, Pittem and Wingene reject: not passed. The amendment of 20 January
# reopens the round for Pittem only; Pittem approves on 10 February (round 2) and the round
# passes with Wingene's rejection still standing. Wingene never decided again.

R1, AMENDED, R2 = date(2041, 1, 13), date(2041, 1, 20), date(2041, 2, 10)


def _amended_round(*, journal_has_round_two: bool = True) -> TrajectoryRecord:
    first = {
        "roeselare": _decision("roeselare", Outcome.APPROVE, R1, "GR-R/17"),
        "izegem": _decision("izegem", Outcome.APPROVE, R1, "GR-I/4"),
        "tielt": _decision("tielt", Outcome.APPROVE, R1, "GR-T/9"),
        "pittem": _decision("pittem", Outcome.REJECT, R1, "GR-P/2"),
        "wingene": _decision("wingene", Outcome.REJECT, R1, "GR-W/11"),
    }
    pittem_again = _decision("pittem", Outcome.APPROVE, R2, "GR-P/5")
    journal = _Journal()
    for d in first.values():
        journal.decided(d, 0)
    journal.add(ev.DecisionRejected(reasons=("English reason",)), R1, step_id=ROUND)
    journal.add(
        ev.AmendmentRecorded(
            amendment=Amendment(reason="Nieuwe verdeelsleutel", amended_by="Coördinator"),
            reopened=("pittem",),
        ),
        AMENDED,
        step_id=ROUND,
    )
    rows = [_row(d, 0) for d in first.values()]
    if journal_has_round_two:
        journal.decided(pittem_again, 1)
        journal.add(ev.DecisionPassed(reasons=("all English",)), R2, step_id=ROUND)
        rows.append(_row(pittem_again, 1))
    now = {**first, "pittem": pittem_again}  # the status keeps what was not reopened
    round_step = _step(
        ROUND,
        ROUND_TITLE,
        kind=StepKind.DECISION_ROUND,
        lane=Lane.APPROVALS,
        phase=Phase.COUNCIL_ROUND,
        status=StepStatus.DONE if journal_has_round_two else StepStatus.OPEN,
        due=date(2041, 5, 18),
        round_number=1,
        parties=tuple(
            PartyDecision(authority_id=a, outcome=d.outcome, decision=d) for a, d in now.items()
        ),
    )
    status = _status(
        "intergemeentelijk-archiefteam",
        "Intergemeentelijk archiefteam",
        CooperationKind.SHARED_SERVICE,
        tuple(first),
        (round_step,),
    )
    return _record(status, journal, decisions=tuple(rows))


def _table(record: TrajectoryRecord) -> list[tuple[str, str, str]]:
    return [
        (line.authority, line.outcome, line.round_label)
        for line in decision_lines(record, {ROUND: ROUND_TITLE}, REGISTER)
    ]


def test_each_decision_once_in_the_round_it_was_taken() -> None:
    assert _table(_amended_round()) == [
        ("Izegem", "goedgekeurd", "ronde 1"),
        ("Pittem", "afgekeurd", "ronde 1"),
        ("Roeselare", "goedgekeurd", "ronde 1"),
        ("Tielt", "goedgekeurd", "ronde 1"),
        ("Wingene", "afgekeurd", "ronde 1"),
        ("Pittem", "goedgekeurd", "ronde 2"),
    ]
    markdown = render_markdown(_view(_amended_round()))
    assert "| Wingene | afgekeurd (ronde 1) | 13 januari 2041 | GR-W/11 | — |" in markdown
    assert "| Pittem | goedgekeurd (ronde 2) | 10 februari 2041 | GR-P/5 | — |" in markdown
    assert markdown.count("(ronde 2)") == 1  # no carried-over approval shown again


def test_a_live_decision_not_journaled_yet_belongs_to_the_current_round() -> None:
    # The status already holds Pittem's second decision; neither the journal nor the table
    # has it yet. It is still shown, once, in round 2; the carried ones stay in round 1.
    lines = _table(_amended_round(journal_has_round_two=False))
    assert ("Pittem", "goedgekeurd", "ronde 2") in lines
    assert [label for _, _, label in lines].count("ronde 2") == 1
    assert ("Wingene", "afgekeurd", "ronde 1") in lines


def test_round_verdicts_say_how_the_parties_decided_with_verbs_that_agree() -> None:
    markdown = render_markdown(_view(_amended_round()))
    assert (
        f"Niet goedgekeurd: “{ROUND_TITLE}” (Roeselare, Izegem en Tielt keuren goed; Pittem "
        "en Wingene keuren af). Heronderhandeling:" in markdown
    )
    assert (
        f"Goedgekeurd: “{ROUND_TITLE}” (Roeselare, Izegem, Tielt en Pittem keuren goed; "
        "Wingene keurt af)." in markdown
    )
    assert (
        "Voorstel gewijzigd (Nieuwe verdeelsleutel); nieuwe beslissing gevraagd van Pittem."
        in markdown
    )
    assert "English" not in markdown and "ENGLISH" not in markdown


def test_a_silence_carried_into_the_next_round_stays_in_its_own_round() -> None:
    journal = _Journal()
    approve = _decision("roeselare", Outcome.APPROVE, R1, "GR-R/17")
    reject = _decision("tielt", Outcome.REJECT, R1, "GR-T/9")
    journal.decided(approve, 0)
    journal.decided(reject, 0)
    journal.add(ev.RoundClosed(silent=("izegem",)), date(2041, 1, 31), step_id=ROUND)
    journal.add(ev.DecisionRejected(), date(2041, 1, 31), step_id=ROUND)
    journal.add(
        ev.AmendmentRecorded(
            amendment=Amendment(reason="Bijgestuurd", amended_by="Coördinator"),
            reopened=("tielt",),
        ),
        date(2041, 2, 3),
        step_id=ROUND,
    )
    step = _step(
        ROUND,
        ROUND_TITLE,
        kind=StepKind.DECISION_ROUND,
        lane=Lane.APPROVALS,
        phase=Phase.COUNCIL_ROUND,
        status=StepStatus.OPEN,
        due=date(2041, 5, 18),
        round_number=1,
        parties=(
            PartyDecision(authority_id="roeselare", outcome=Outcome.APPROVE, decision=approve),
            PartyDecision(
                authority_id="izegem", outcome=Outcome.ABSTAIN, counted_as_abstention=True
            ),
            PartyDecision(authority_id="tielt", outcome=None),
        ),
    )
    status = _status(
        "sport-midwest",
        "Sport Midwest",
        CooperationKind.INTERLOKALE_VERENIGING,
        ("roeselare", "izegem", "tielt"),
        (step,),
    )
    record = _record(status, journal, decisions=(_row(approve, 0), _row(reject, 0)))
    assert _table(record) == [
        ("Roeselare", "goedgekeurd", "ronde 1"),
        ("Tielt", "afgekeurd", "ronde 1"),
        ("Izegem", "onthouding (geen beslissing binnen de termijn)", "ronde 1"),
    ]
    markdown = render_markdown(_view(record))
    assert (
        f"Niet goedgekeurd: “{ROUND_TITLE}” (Roeselare keurt goed; Tielt keurt af; van Izegem "
        "kwam binnen de termijn geen beslissing, wat als onthouding telt)." in markdown
    )
    assert "(termijn 18 mei 2041): Tielt" in markdown  # the reopened council is awaited


# --- secondment, the informal overleg, waiting periods ------------------------------------------


def _integrated_with_secondment() -> TrajectoryRecord:
    journal = _Journal()
    journal.add(ev.StepDone(waited_until=date(2041, 1, 1)), date(2041, 1, 1), step_id="wait")
    journal.add(ev.TrajectoryIntegrated(), date(2041, 1, 1))
    status = _status(
        "projectvereniging-bie",
        "Projectvereniging BIE",
        CooperationKind.PROJECTVERENIGING,
        ("roeselare", "izegem", "tielt"),
        (
            _step(
                "wait",
                "Wachten op de ingangsdatum",
                kind=StepKind.WAIT,
                lane=Lane.TRANSFER,
                phase=Phase.TRANSFER,
            ),
        ),
        phase=Phase.INTEGRATED,
        finished_on=date(2041, 1, 1),
        today=date(2041, 1, 1),
        planned_av_date=date(2040, 12, 10),
        effective_date=date(2041, 1, 1),
    )
    return _record(status, journal, transferred={"staff": 1, "asset": 2}, seconded=1)


def test_a_secondment_is_reported_as_a_secondment() -> None:
    markdown = render_markdown(_view(_integrated_with_secondment()))
    assert "- **Overgedragen:** 1 personeelslid, 2 activa" in markdown
    assert "- **Gedetacheerd:** 1 personeelslid" in markdown
    assert "2 personeelsleden" not in markdown  # the seconded one is not counted as moved


def test_a_waiting_period_is_told_with_its_end_date() -> None:
    markdown = render_markdown(_view(_integrated_with_secondment()))
    assert (
        "- 1 januari 2041: Wachttijd voorbij: “Wachten op de ingangsdatum” (liep tot 1 januari "
        "2041)." in markdown
    )


def _informal_overleg() -> TrajectoryRecord:
    journal = _Journal()
    journal.add(
        ev.TrajectoryStarted(
            template_version=1,
            planned_av_date=date(2041, 5, 19),
            effective_date=date(2041, 7, 1),
            participants=("roeselare", "izegem", "tielt"),
        ),
        date(2040, 12, 1),
    )
    journal.add(
        ev.AmendmentRecorded(
            amendment=Amendment(
                reason="Later jaarplan",
                amended_by="Coördinator",
                planned_av_date=date(2041, 5, 26),
            ),
            reopened=(),
        ),
        date(2041, 2, 2),
        step_id="partners-round",
    )
    journal.add(
        ev.PhaseChanged(previous=Phase.COUNCIL_ROUND, phase=Phase.GENERAL_ASSEMBLY),
        date(2041, 2, 20),
    )
    board = _step(
        "board-activity",
        "Raad van bestuur neemt de werking op in het jaarplan",
        kind=StepKind.DECISION,
        lane=Lane.APPROVALS,
        phase=Phase.GENERAL_ASSEMBLY,
        status=StepStatus.OPEN,
        due=date(2041, 5, 26),
        parties=(PartyDecision(authority_id="dvv-midwest-rvb", outcome=None),),
    )
    status = _status(
        "regionaal-sportoverleg",
        "Regionaal Sportoverleg",
        CooperationKind.INFORMAL_OVERLEG,
        ("roeselare", "izegem", "tielt"),
        (board,),
        phase=Phase.GENERAL_ASSEMBLY,
    )
    return _record(status, journal)


def test_an_informal_overleg_has_no_general_assembly() -> None:
    view = _view(_informal_overleg())
    (row,) = view.summary
    assert row.av_date == "—"
    assert row.phase == "beslissing van de raad van bestuur"
    markdown = render_markdown(view)
    assert "algemene vergadering" not in markdown.lower()
    assert "- 1 december 2040: Traject gestart met 3 deelnemers; ingangsdatum 1 juli 2041." in (
        markdown
    )
    assert "- 2 februari 2041: Voorstel gewijzigd (Later jaarplan)." in markdown
    assert ">AV<" not in view.sections[0].timeline_svg  # no assembly line on the timeline
    # A trajectory with an assembly keeps its line and its date.
    amended = _view(_amended_round())
    assert ">AV<" in amended.sections[0].timeline_svg
    assert amended.summary[0].av_date == "19 mei 2041"


# --- the whole report: dates, names, words ----------------------------------------------------


TASK_TITLE = "Inventaris en business case (fiche-update) in de cluster"


def _overdue_task(cooperation_id: str, name: str, *, live: bool) -> TrajectoryRecord:
    journal = _Journal()
    journal.add(ev.ReminderSent(due=date(2041, 1, 31)), date(2041, 1, 17), step_id="task")
    journal.add(ev.EscalationSent(), date(2041, 2, 2), step_id="task")
    task = _step(
        "task",
        TASK_TITLE,
        status=StepStatus.OPEN,
        due=date(2041, 1, 31),
    )
    status = _status(
        cooperation_id,
        name,
        CooperationKind.REGIONAL_ROLE,
        ("roeselare", "izegem"),
        (task,),
        phase=Phase.PREPARATION,
    )
    return _record(status, journal, live=live)


def _aborted() -> TrajectoryRecord:
    journal = _Journal()
    journal.add(ev.AbortRequested(reason="Geen draagvlak"), date(2041, 2, 3))
    journal.add(ev.StepCancelled(), date(2041, 2, 3), step_id="task")
    journal.add(ev.TrajectoryAborted(reason="Geen draagvlak"), date(2041, 2, 3))
    task = _step("task", TASK_TITLE, status=StepStatus.CANCELLED, due=date(2041, 1, 31))
    status = _status(
        "sport-midwest",
        "Sport Midwest",
        CooperationKind.INTERLOKALE_VERENIGING,
        ("roeselare", "izegem"),
        (task,),
        phase=Phase.ABORTED,
        finished_on=date(2041, 2, 3),
        abort_reason="Geen draagvlak",
    )
    return _record(status, journal)


class _Text(HTMLParser):
    """The HTML's text content (what a reader sees), without its markup or its SVG."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._svg += tag == "svg"

    def handle_endtag(self, tag: str) -> None:
        self._svg -= tag == "svg"

    def handle_data(self, data: str) -> None:
        if not self._svg:
            self.parts.append(data)


def _everything() -> tuple[str, str]:
    view = _view(
        _amended_round(),
        _integrated_with_secondment(),
        _informal_overleg(),
        _overdue_task("regierol-sociale-economie", "Regierol sociale economie", live=False),
        _overdue_task("wijk-werken", "Wijk-werken", live=True),
        _aborted(),
        hosts={"intergemeentelijk-archiefteam": "roeselare"},
    )
    parser = _Text()
    parser.feed(render_html(view))
    return render_markdown(view), " ".join(parser.parts)


def test_no_iso_date_no_register_id_no_it_word_in_any_sentence() -> None:
    markdown, html_text = _everything()
    for text in (markdown, html_text):
        assert not ISO_OR_DIGITS.search(text), ISO_OR_DIGITS.search(text)
        assert "workflow" not in text.lower()
        assert "ENGLISH" not in text and "English" not in text
        for authority_id in REGISTER:  # ids are lower case; names are capitalised
            assert not re.search(rf"(?<![\w/-]){re.escape(authority_id)}(?![\w/-])", text), (
                authority_id
            )
    assert "- **Trekkende gemeente:** Roeselare" in markdown  # the register's host, by name
    assert "De actuele stand kon niet worden opgevraagd voor 1 lopend traject;" in markdown
    assert markdown.count("*Actuele stand, rechtstreeks opgevraagd.*") == 3  # the live ones


def test_overdue_trajectories_are_counted_in_the_right_number() -> None:
    markdown, _ = _everything()
    assert "Bij 2 trajecten is er achterstand (zie “Achterstand” bij die trajecten)." in markdown
    one = render_markdown(_view(_overdue_task("wijk-werken", "Wijk-werken", live=True)))
    assert "Bij 1 traject is er achterstand (zie “Achterstand” bij dat traject)." in one


def test_reminders_carry_their_date_and_a_cancelled_step_is_no_tautology() -> None:
    markdown, _ = _everything()
    title = f"“{TASK_TITLE}”"
    assert f"- 17 januari 2041: Herinnering verstuurd voor {title} (termijn 31 januari 2041)." in (
        markdown
    )
    assert f"- 3 februari 2041: Stap afgebroken: {title}." in markdown
    assert "Stopzetting van het traject gevraagd: Geen draagvlak." in markdown
    assert "door de stopzetting" not in markdown and "stopgezet omdat" not in markdown


def test_a_round_of_one_party_speaks_of_the_only_party() -> None:
    journal = _Journal()
    alone = _decision("tielt", Outcome.APPROVE, R1, "GR-T/9")
    journal.decided(alone, 0)
    passed = journal.add(ev.DecisionPassed(reasons=("all 1 parties approve",)), R1, step_id=ROUND)
    step = _step(
        ROUND,
        ROUND_TITLE,
        kind=StepKind.DECISION_ROUND,
        lane=Lane.APPROVALS,
        phase=Phase.COUNCIL_ROUND,
        parties=(PartyDecision(authority_id="tielt", outcome=Outcome.APPROVE, decision=alone),),
    )
    status = _status("x", "X", CooperationKind.SHARED_SERVICE, ("tielt",), (step,))
    markdown = render_markdown(_view(_record(status, journal, decisions=(_row(alone, 0),))))
    assert f"Goedgekeurd: “{ROUND_TITLE}” (de enige partij keurt goed)." in markdown
    # A single body's decision has no tally: the sentence before it names the body.
    ctx = EventContext("X", {ROUND: ROUND_TITLE}, REGISTER)
    assert describe_event(passed, ctx) == f"Goedgekeurd: “{ROUND_TITLE}”."


def test_a_late_approval_names_the_effective_date_that_passed() -> None:
    journal = _Journal()
    needed = journal.add(ev.EffectiveDateNeeded(planned=date(2040, 12, 1)), date(2040, 12, 3))
    ctx = EventContext("Projectvereniging BIE", {}, REGISTER)
    assert describe_event(needed, ctx) == (
        "De geplande ingangsdatum van 1 december 2040 is voorbij; een nieuwe ingangsdatum moet "
        "worden vastgelegd."
    )


async def test_secondments_and_the_host_are_read_from_the_database(database_url: str) -> None:
    """The SQL behind the facts above: staff counted per route (a missing route is a
    transfer), and the register's trekkende gemeente of a shared service."""
    status = _integrated_with_secondment().status.model_copy(
        update={
            "cooperation_id": "intergemeentelijk-archiefteam",
            "cooperation_name": "Intergemeentelijk archiefteam",
            "kind": CooperationKind.SHARED_SERVICE,
        }
    )
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO trajectories (id, workflow_id, run_id, cooperation_id, cooperation_name,"
            " kind, phase, calendar_today, planned_av_date, effective_date, finished, status)"
            " VALUES ('t/1', 'inkanteling-intergemeentelijk-archiefteam', '1',"
            " 'intergemeentelijk-archiefteam', 'Intergemeentelijk archiefteam', 'shared-service',"
            " 'integrated', $1, $1, $1, true, $2)",
            date(2041, 1, 1),
            status.model_dump_json(),
        )
        for number, route in enumerate(("transfer", "secondment", None), start=1):
            await conn.execute(
                "INSERT INTO transfers (trajectory_id, item_kind, item_no, description, statute,"
                " route, transferred_on) VALUES ('t/1', 'staff', $1, 'naam', 'contractual', $2,"
                " $3)",
                number,
                route,
                date(2041, 1, 1),
            )
        await conn.execute(
            "INSERT INTO transfers (trajectory_id, item_kind, item_no, description, transferred_on)"
            " VALUES ('t/1', 'asset', 1, 'depot', $1)",
            date(2041, 1, 1),
        )
        await conn.execute(
            "UPDATE cooperations SET host = 'roeselare' WHERE id = 'intergemeentelijk-archiefteam'"
        )
        data = await load_report_data(conn, report_date=REPORT_DAY, since=None, since_source="none")
    finally:
        await conn.close()
    (record,) = data.trajectories
    assert (record.transferred, record.seconded) == ({"staff": 2, "asset": 1}, 1)
    assert data.hosts == {"intergemeentelijk-archiefteam": "roeselare"}
    markdown = render_markdown(build_view(data, generated_at=datetime(2041, 3, 1, tzinfo=UTC)))
    assert "- **Trekkende gemeente:** Roeselare" in markdown
    assert "- **Overgedragen:** 2 personeelsleden, 1 activum" in markdown
    assert "- **Gedetacheerd:** 1 personeelslid" in markdown
    assert "naam" not in markdown and "depot" not in markdown  # counts, never descriptions
