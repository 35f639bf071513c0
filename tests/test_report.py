"""The "Stand van zaken" report.

End to end: four trajectories run for real (time-skipping Temporal server, real worker, real
PostgreSQL) from a fixed date, so every date in the report is deterministic; the Markdown is
compared with a reviewed file (tests/data/report/stand-van-zaken.md; regenerate it with
UPDATE_EXPECTED=1 and review the diff). Around it: the SVG timeline is valid XML and escapes
its text, the HTML is self-contained and escapes hostile text, the CLI behaves without
Temporal and without PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db.trajectories import running_workflows
from operations.start import start_trajectory
from report.data import DecisionRecord, ReportData, TrajectoryRecord
from report.dutch import format_date
from report.events import EventContext, describe_event
from report.generate import ReportRequest, ReportResult, generate_report
from report.live import query_statuses
from report.render_html import render_html
from report.render_markdown import render_markdown
from report.timeline_svg import DecisionMark, build_timeline_svg
from report.view import build_view
from schemas import events as ev
from schemas.audit import AuditEvent, EventKind
from schemas.common import CooperationKind, Lane, Outcome, StepKind
from schemas.template import Phase
from schemas.trajectory import (
    Amendment,
    DecisionInput,
    Participant,
    PartyDecision,
    RecordedDecision,
    StepStatus,
    StepView,
    TaskCompletion,
    TrajectoryStatus,
)
from stack.binaries import temporal_test_server
from stack.ports import free_port
from temporal_connection import register_search_attributes
from tests.support.codec import converter_for_tests
from tests.support.trajectories import (
    can_be_done,
    decision_in,
    make_request,
    running_worker,
    status_of,
    via_signals,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = Path(__file__).parent / "data" / "report" / "stand-van-zaken.md"
# A Monday far enough ahead that the test server (which starts at the real time) can always
# skip forward to it; every date of the scripted trajectories follows from it.
START = datetime(2040, 1, 9, 8, 0, tzinfo=UTC)
STAFF_NAMES = ("An Peeters", "Bram Claes")  # tests/support/trajectories.make_request


@pytest.fixture(scope="module")
async def report_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own: its clock is moved to START, which must not
    disturb the shared one other tests use."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter_for_tests(),
        test_server_existing_path=str(temporal_test_server()),
    )
    await register_search_attributes(env.client)
    async with env:
        now = await env.get_current_time()
        assert now < START, "the fixed start date of this test lies in the past; move it"
        await env.sleep(START - now)
        yield env


async def _today(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).date()


async def _result(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> TrajectoryStatus:
    """The workflow's result without letting the server skip time: the time-skipping handle
    unlocks skipping while it waits, and the test server then jumps years ahead even when the
    workflow is about to complete, which would move every later date of the scenario."""
    plain = env.client.get_workflow_handle(
        handle.id, run_id=handle.result_run_id, result_type=TrajectoryStatus
    )
    result: TrajectoryStatus = await plain.result()
    return result


def _step(status: TrajectoryStatus, step_id: str) -> StepView:
    return next(s for s in status.steps if s.id == step_id)


def _offset(today: date, target: date) -> int:
    return (target - today).days


async def _generate(
    database_url: str, out_dir: Path, report_date: date, live: dict[str, TrajectoryStatus] | None
) -> ReportResult:
    conn = await asyncpg.connect(database_url)
    try:
        request = ReportRequest(
            out_dir=out_dir,
            report_date=report_date,
            generated_at=datetime.combine(report_date, time(9, 30), tzinfo=UTC),
        )
        return await generate_report(conn, request, live)
    finally:
        await conn.close()


async def _live(env: WorkflowEnvironment, database_url: str) -> dict[str, TrajectoryStatus]:
    conn = await asyncpg.connect(database_url)
    try:
        workflows = await running_workflows(conn)
    finally:
        await conn.close()
    live = await query_statuses(env.client, workflows)
    assert not live.failures
    return live.statuses


_EVENT_LINE = re.compile(r"^- (\d{1,2} [a-z]+ \d{4}): ")


def _same_day_sorted(markdown: str) -> str:
    """Events of one day in a stable order. Automatic steps run their activities in parallel,
    so two of them finishing on the same day may be journaled in either order; across days the
    order is fixed and stays compared."""
    lines = markdown.splitlines()
    out: list[str] = []
    run: list[str] = []
    day = None
    for line in [*lines, ""]:
        match = _EVENT_LINE.match(line)
        if match and match[1] == day:
            run.append(line)
            continue
        out += sorted(run)
        run, day = ([line], match[1]) if match else ([], None)
        if not match:
            out.append(line)
    return "\n".join(out[:-1])


# Small synchronous helpers: file checks in async tests without blocking calls inline.
def _read(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")


def _is_file(path: str) -> bool:
    return Path(path).is_file()


def _is_empty(directory: Path) -> bool:
    return not any(directory.iterdir())


async def _run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        *args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- the scripted trajectories ----------------------------------------------------------------
#
# The driver is deterministic in days: it acts only right after a whole-day skip, when every
# timer due that midnight has fired, and waits for the workflow in real time (seconds) before
# looking again. The shared `play_everyone` polls in 6-hour skips, so whether an action falls
# before or after midnight depends on races, and a date in the report moves now and then.

DAY = timedelta(days=1)


def _open_work(
    status: TrajectoryStatus, *, councils: bool
) -> tuple[list[StepView], list[tuple[StepView, str]]]:
    """Open tasks, and undecided parties of open decisions (the council round only when
    `councils`: otherwise the councils decide for themselves, later)."""
    open_steps = [s for s in status.steps if s.status is StepStatus.OPEN]
    tasks = [s for s in open_steps if can_be_done(s, status)]
    parties = [
        (s, p.authority_id)
        for s in open_steps
        if councils or s.kind is not StepKind.DECISION_ROUND
        for p in s.parties
        if p.outcome is None
    ]
    return tasks, parties


def _settled(status: TrajectoryStatus) -> bool:
    """Nothing in flight: the trajectory finished, or it waits on people or the calendar (some
    step is open) and no automatic step is running its activity. Before its first step opens
    a trajectory is not settled but starting."""
    if status.finished_on is not None:
        return True
    open_steps = [s for s in status.steps if s.status is StepStatus.OPEN]
    return bool(open_steps) and all(s.kind is not StepKind.AUTOMATIC for s in open_steps)


def _grown_to(length: int) -> Callable[[TrajectoryStatus], bool]:
    return lambda status: _settled(status) and len(status.timeline) >= length


async def _play(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, Any],
    until: Callable[[TrajectoryStatus], bool],
    *,
    councils: bool = True,
) -> TrajectoryStatus:
    """Play the coordinator and every deciding body (approving) until `until` holds."""
    send = via_signals(handle)
    for _ in range(1000):
        status = await wait_for(handle, _settled)  # no env: real-time polls, no skipping
        if until(status):
            return status
        tasks, parties = _open_work(status, councils=councils)
        if not tasks and not parties:
            await env.sleep(DAY)
            continue
        today = await _today(env)
        for task in tasks:
            await send(
                "complete_task",
                TaskCompletion(
                    step_id=task.id, evidence=f"doc://{task.id}", completed_by="Coördinator"
                ),
            )
        for step, authority in parties:
            d = decision_in(status, step.id, authority)
            await send("decide", d.model_copy(update={"session_date": today}))
        await wait_for(handle, _grown_to(len(status.timeline) + len(tasks) + len(parties)))
    raise AssertionError("the trajectory did not get there in 1000 rounds")


async def _integrated(env: WorkflowEnvironment, queue: str) -> None:
    """Projectvereniging BIE, the seed's WVV pilot: everyone approves; ingekanteld on the
    effective date, 1 December 2040."""
    today = await _today(env)
    request = make_request(
        CooperationKind.PROJECTVERENIGING,
        start=today,
        av_after_days=_offset(today, date(2040, 6, 20)),
        effective_after_days=_offset(today, date(2040, 12, 1)),
    )
    handle = await start_trajectory(env.client, queue, request)
    await _play(env, handle, lambda s: s.finished_on is not None)
    assert (await _result(env, handle)).phase is Phase.INTEGRATED


async def _aborted(env: WorkflowEnvironment, queue: str) -> None:
    """Sport Midwest, an informal overleg in the register: stopped after the board's principle
    decision. (Not the Regionaal Sportoverleg: the register records it as dissolved in 2020,
    and a dissolved cooperation cannot enter a trajectory again.)"""
    today = await _today(env)
    request = make_request(
        CooperationKind.INFORMAL_OVERLEG,
        cooperation=("sport-midwest", "Sport Midwest"),
        start=today,
        av_after_days=_offset(today, date(2041, 3, 24)),
        effective_after_days=_offset(today, date(2041, 4, 1)),
    )
    handle = await start_trajectory(env.client, queue, request)
    await _play(env, handle, lambda s: _step(s, "board-principle").status is StepStatus.DONE)
    await handle.signal(
        "abort_signal",
        {
            "reason": "De besturen zetten het overleg verder buiten regio Midwest",
            "aborted_by": "Midwestoverleg",
        },
    )
    assert (await _result(env, handle)).phase is Phase.ABORTED


def _council_round_reached(status: TrajectoryStatus) -> bool:
    tasks_open = any(s.status is StepStatus.OPEN and s.kind is StepKind.TASK for s in status.steps)
    return _step(status, "council-round").status is StepStatus.OPEN and not tasks_open


async def _in_council_round(env: WorkflowEnvironment, queue: str) -> None:
    """Intergemeentelijk archiefteam: in the council round, two approvals and a postponement
    received, two councils still to decide."""
    today = await _today(env)
    request = make_request(
        CooperationKind.SHARED_SERVICE,
        participants=("roeselare", "izegem", "tielt", "pittem", "wingene"),
        start=today,
        av_after_days=_offset(today, date(2041, 5, 19)),
        effective_after_days=_offset(today, date(2041, 7, 1)),
    )
    handle = await start_trajectory(env.client, queue, request)
    status = await _play(env, handle, _council_round_reached, councils=False)
    day = await _today(env)
    send = via_signals(handle)
    decisions = [
        ("roeselare", Outcome.APPROVE, "https://besluiten.roeselare.be/2041/gr-12", (31, 4, 1)),
        ("izegem", Outcome.APPROVE, "GR/2041/017", (None, None, None)),
        ("tielt", Outcome.POSTPONE, "GR-2041-003", (None, None, None)),
    ]
    # A council takes both items in one session: the statute change of DVV Midwest (the
    # members' round) and its own leaving of the cooperation (the participants' round).
    rounds = [s.id for s in status.steps if s.kind is StepKind.DECISION_ROUND]
    for authority, outcome, reference, (yes, no, abstained) in decisions:
        for number, step_id in enumerate(rounds):
            await send(
                "decide",
                DecisionInput(
                    authority_id=authority,
                    outcome=outcome,
                    session_date=day,
                    reference=reference if number == 0 else f"{reference}/{step_id}",
                    step_id=step_id,
                    votes_for=yes,
                    votes_against=no,
                    votes_abstained=abstained,
                    recorded_by="Secretariaat Midwest",
                ),
            )
    after = await wait_for(handle, _grown_to(len(status.timeline) + 3 * len(rounds)))
    assert after.pending_authorities == ("pittem", "tielt", "wingene")


async def _overdue(env: WorkflowEnvironment, queue: str) -> WorkflowHandle[Any, Any]:
    """Regierol sociale economie: the business case is never delivered."""
    today = await _today(env)
    request = make_request(
        CooperationKind.REGIONAL_ROLE,
        start=today,
        av_after_days=_offset(today, date(2041, 6, 16)),
        effective_after_days=_offset(today, date(2042, 1, 1)),
    )
    handle = await start_trajectory(env.client, queue, request)
    await wait_for(handle, lambda s: _step(s, "business-case").status is StepStatus.OPEN)
    return handle


async def test_report_of_scripted_trajectories(
    report_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    env = report_env
    async with running_worker(env.client, database_url) as queue:
        await _integrated(env, queue)
        await _aborted(env, queue)
        await env.sleep(DAY)
        first_date = await _today(env)
        first = await _generate(database_url, tmp_path / "first", first_date, live=None)
        assert first.since_source == "none" and first.report_id is not None

        await _in_council_round(env, queue)
        late = await _overdue(env, queue)
        await env.sleep(timedelta(days=40))
        assert (await status_of(late)).overdue
        report_date = await _today(env)
        live = await _live(env, database_url)
        assert len(live) == 2
        second = await _generate(database_url, tmp_path / "second", report_date, live)

        # The CLI against the same servers, while the worker still answers queries.
        cli_env = {
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "INKANTELING_LOG_LEVEL": "warning",
        }
        code, out, err = await _run_cli(
            "report", "--out", str(tmp_path / "cli"), "--dry-run", "--json", env=cli_env
        )
        assert code == 0, err
        result = json.loads(out)
        assert result["trajectories"] == 4 and result["live"] == 2
        assert result["since"] == report_date.isoformat()  # the second report, recorded
        assert result["since_source"] == "previous-report"
        assert result["recorded"] is False
        assert all(_is_file(p) for p in result["files"])

    assert second.since == first_date and second.since_source == "previous-report"
    assert second.trajectories == 4 and second.live == 2
    markdown_path, html_path = second.paths
    assert markdown_path.name == f"stand-van-zaken-{report_date.isoformat()}.md"
    markdown = markdown_path.read_text(encoding="utf-8")
    html = html_path.read_text(encoding="utf-8")

    if os.environ.get("UPDATE_EXPECTED"):
        EXPECTED.write_text(markdown, encoding="utf-8")
    assert _same_day_sorted(markdown) == _same_day_sorted(EXPECTED.read_text(encoding="utf-8"))

    for text in (markdown, html, *(p.read_text(encoding="utf-8") for p in first.paths)):
        for name in STAFF_NAMES:  # staff names live in transfers; the report counts them
            assert name.split()[-1] not in text
    _assert_self_contained_html(html, sections=4)
    assert html.count('<span class="late-flag">ja</span>') == 1
    # make_request's staff: one transferred, one seconded (route read from `transfers`).
    assert "- **Overgedragen:** 1 personeelslid, 1 activum" in markdown
    assert "- **Gedetacheerd:** 1 personeelslid" in markdown

    first_md = first.paths[0].read_text(encoding="utf-8")
    assert "Eerste verslag: alle gebeurtenissen sinds de start van het traject." in first_md
    assert "Projectvereniging BIE is op 1 december 2040 ingekanteld in DVV Midwest." in first_md
    assert first_date == date(2040, 12, 2)

    # Without Temporal the report still comes out, from the stored snapshots.
    free = f"127.0.0.1:{free_port()}"
    code, out, err = await _run_cli(
        "report", "--out", str(tmp_path / "offline"), "--dry-run", "--format", "md",
        env={**cli_env, "TEMPORAL_ADDRESS": free},
    )  # fmt: skip
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("Temporal not reachable")]
    offline = _read(out.splitlines()[0])
    assert offline.count("Stand volgens de laatste registratie van") == 2
    assert "De actuele stand kon niet worden opgevraagd voor 2 lopende trajecten" in offline
    assert "workflow" not in offline.lower()  # a word for engineers, not for the mayors


async def test_cli_without_database_exits_unavailable(tmp_path: Path) -> None:
    code, out, err = await _run_cli(
        "report",
        "--out",
        str(tmp_path),
        env={"DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"},
    )
    assert code == 6
    assert "cannot reach PostgreSQL" in err and out == ""
    assert _is_empty(tmp_path)


async def test_cli_rejects_a_bad_date() -> None:
    code, _, err = await _run_cli("report", "--since", "1-12-2020", env={})
    assert code == 2
    assert "not a date (YYYY-MM-DD): '1-12-2020'" in err


async def test_dry_run_records_nothing_and_since_option_wins(
    database_url: str, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        day = date(2040, 3, 1)
        moment = datetime(2040, 3, 1, 9, 0, tzinfo=UTC)
        dry = await generate_report(
            conn, ReportRequest(tmp_path, day, moment, formats=("md",), dry_run=True)
        )
        assert dry.report_id is None and dry.since_source == "none"
        assert await conn.fetchval("SELECT count(*) FROM reports") == 0
        recorded = await generate_report(conn, ReportRequest(tmp_path, day, moment))
        assert recorded.report_id is not None
        later = await generate_report(
            conn, ReportRequest(tmp_path, date(2040, 4, 1), moment, dry_run=True)
        )
        assert (later.since, later.since_source) == (day, "previous-report")
        chosen = await generate_report(
            conn,
            ReportRequest(tmp_path, date(2040, 4, 1), moment, since=date(2040, 1, 1), dry_run=True),
        )
        assert (chosen.since, chosen.since_source) == (date(2040, 1, 1), "option")
        text = chosen.paths[0].read_text(encoding="utf-8")
        assert "Stand op 1 april 2040: er zijn nog geen trajecten." in text
    finally:
        await conn.close()


# --- HTML and SVG: escaping and self-containment ------------------------------------------------

HOSTILE = "<script>alert(1)</script>"


class _Nesting(HTMLParser):
    """Checks that every element is closed in order (void elements excepted)."""

    VOID = frozenset({"meta", "br", "img", "hr", "input", "link", "col", "area", "source"})
    SVG_EMPTY = frozenset({"rect", "line", "circle", "polygon", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def _assert_self_contained_html(html: str, *, sections: int) -> None:
    parser = _Nesting()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not re.search(r"\b(src|href)=\"(?!#)", html), "only in-page links"
    assert "url(" not in html and "@import" not in html
    assert html.count('<section class="trajectory') == sections
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == sections
    for svg in svgs:
        ET.fromstring(svg)


def _participants(*ids: str) -> tuple[Participant, ...]:
    return tuple(Participant(authority_id=i, name=i.capitalize()) for i in ids)


def _hostile_status() -> TrajectoryStatus:
    decided = RecordedDecision(
        authority_id="roeselare",
        outcome=Outcome.APPROVE,
        session_date=date(2040, 2, 3),
        reference=HOSTILE,
        step_id="council-round",
        recorded_by="Secretariaat",
    )
    return TrajectoryStatus(
        workflow_id="inkanteling-x",
        cooperation_id="x",
        cooperation_name='Samenwerking "A&B" <b>vet</b>',
        kind=CooperationKind.INTERLOKALE_VERENIGING,
        template_version=1,
        phase=Phase.COUNCIL_ROUND,
        today=date(2040, 3, 1),
        started_on=date(2040, 1, 2),
        planned_av_date=date(2040, 6, 1),
        effective_date=date(2041, 1, 1),
        needs_effective_date=False,
        participants=_participants("roeselare", "izegem"),
        steps=(
            StepView(
                id="legal-scan",
                title="Scan <i>juridisch</i> & 'fiscaal'",
                lane=Lane.LEGAL,
                kind=StepKind.TASK,
                phase=Phase.PREPARATION,
                status=StepStatus.OPEN,
                due=date(2040, 2, 1),
                overdue=True,
                opened_on=date(2040, 1, 2),
            ),
            StepView(
                id="council-round",
                title="Gemeenteraden beslissen",
                lane=Lane.APPROVALS,
                kind=StepKind.DECISION_ROUND,
                phase=Phase.COUNCIL_ROUND,
                status=StepStatus.OPEN,
                due=date(2040, 5, 31),
                opened_on=date(2040, 1, 20),
                parties=(
                    PartyDecision(
                        authority_id="roeselare", outcome=Outcome.APPROVE, decision=decided
                    ),
                    PartyDecision(authority_id="izegem", outcome=None),
                ),
            ),
        ),
        pending_authorities=("izegem",),
        overdue=True,
        next_deadline=date(2040, 5, 31),
        timeline=(),
        rejected_messages=0,
    )


def _hostile_data() -> ReportData:
    status = _hostile_status()
    event = AuditEvent(
        seq=7,
        kind=EventKind.DECISION_RECORDED,
        on=date(2040, 2, 3),
        at=datetime(2040, 2, 3, 10, tzinfo=UTC),
        summary="roeselare decided approve",
        actor="Secretariaat",
        step_id="council-round",
        authority_id="roeselare",
        data={
            "decision": {
                "authority_id": "roeselare",
                "outcome": "approve",
                "session_date": "2040-02-03",
                "reference": HOSTILE,
            },
            "round": 0,
        },
    )
    record = TrajectoryRecord(
        trajectory_id="inkanteling-x/run",
        workflow_id="inkanteling-x",
        run_id="run",
        started_at=datetime(2040, 1, 2, tzinfo=UTC),
        finished=False,
        status=status,
        live=True,
        events=(event,),
        decisions=(
            DecisionRecord(
                step_id="council-round",
                authority_id="roeselare",
                round_number=0,
                outcome=Outcome.APPROVE,
                session_date=date(2040, 2, 3),
                reference=HOSTILE,
            ),
        ),
        transferred={},
    )
    return ReportData(
        report_date=date(2040, 3, 1),
        since=date(2040, 2, 1),
        since_source="previous-report",
        trajectories=(record,),
        authority_names={"roeselare": "Roeselare", "izegem": "Izegem <img src=x onerror=alert(2)>"},
        cooperation_names={"x": "Samenwerking X"},
    )


def test_html_escapes_hostile_text() -> None:
    html = render_html(build_view(_hostile_data(), generated_at=datetime(2040, 3, 1, 9, 0)))
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>vet" not in html and "<i>juridisch" not in html
    assert "Samenwerking &quot;A&amp;B&quot; &lt;b&gt;vet&lt;/b&gt;" in html
    _assert_self_contained_html(html, sections=1)


def test_markdown_escapes_hostile_text() -> None:
    markdown = render_markdown(build_view(_hostile_data(), generated_at=datetime(2040, 3, 1)))
    assert not re.search(r"(?<!\\)<", markdown), "every < is escaped"
    assert r"\<script\>alert(1)\</script\>" in markdown
    assert r"Izegem \<img src=x onerror=alert(2)\>" in markdown
    # The overdue task leads the section; the postponed or silent councils are listed.
    assert (
        "> - **Scan \\<i\\>juridisch\\</i\\> & 'fiscaal'** (juridisch): termijn 1 februari 2040"
        in markdown
    )
    assert "29 dagen over tijd" in markdown


def test_svg_timeline_is_valid_xml_and_escapes_text() -> None:
    status = _hostile_status()
    svg = build_timeline_svg(
        status,
        as_of=date(2040, 3, 1),
        decisions=[
            DecisionMark("council-round", date(2040, 2, 3), outcome, f"{HOSTILE} & co \x01")
            for outcome in Outcome
        ],
    )
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"svg": "http://www.w3.org/2000/svg"}
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for lane in ("juridisch", "financieel", "personeel", "beslissingen", "overdracht", "vandaag"):
        assert lane in texts
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(HOSTILE + " & co " in t for t in titles)  # restored by the parser: escaped
    assert any("Scan <i>juridisch</i> & 'fiscaal'" in t for t in titles)
    assert "<script" not in svg
    overdue = root.findall(".//svg:g[@class='step overdue']", ns)
    assert len(overdue) == 1  # the legal scan, due 1 February, still open on 1 March
    markers = root.findall(".//svg:g[@class]", ns)
    outcomes = {m.get("class") for m in markers}
    assert {"decision goedgekeurd", "decision afgekeurd", "decision uitstel"} <= outcomes
    assert "decision onthouding" in outcomes
    assert len(root.findall(".//svg:g[@class='deadline']", ns)) == 2


def test_svg_of_a_finished_trajectory_has_no_today_line() -> None:
    status = _hostile_status().model_copy(
        update={"phase": Phase.INTEGRATED, "finished_on": date(2041, 1, 1), "steps": ()}
    )
    svg = build_timeline_svg(status, as_of=date(2041, 1, 1), show_today=False)
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "vandaag" not in texts and "einde" in texts


# --- Dutch ----------------------------------------------------------------------------------


def test_dates_are_dutch_without_locale() -> None:
    assert format_date(date(2020, 12, 1)) == "1 december 2020"
    assert format_date(date(2041, 3, 9)) == "9 maart 2041"


def test_every_event_kind_is_phrased_in_dutch() -> None:
    ctx = EventContext(
        "Projectvereniging BIE",
        {"council-round": "Gemeenteraden beslissen"},
        {"izegem": "Izegem", "tielt": "Tielt"},
        abort_reason="Geen draagvlak",
    )
    day = date(2040, 2, 3)
    payloads: list[ev.EventPayload] = [
        ev.TrajectoryStarted(
            template_version=1,
            participants=("izegem", "tielt"),
            planned_av_date=date(2040, 6, 20),
            effective_date=date(2040, 12, 1),
        ),
        ev.StepOpened(),
        ev.StepDone(),
        ev.DecisionRecorded(
            decision=RecordedDecision(
                authority_id="izegem",
                outcome=Outcome.POSTPONE,
                session_date=day,
                reference="GR/1",
                step_id="council-round",
                recorded_by="secretariaat",
            ),
            round=1,
        ),
        ev.DecisionPassed(),
        ev.DecisionRejected(),
        ev.RoundClosed(silent=("izegem", "tielt")),
        ev.RoundRevised(
            authority_id="tielt", session_date=day, before="rejected", after="approved"
        ),
        ev.ReminderSent(),
        ev.EscalationSent(),
        ev.AmendmentRecorded(
            amendment=Amendment(
                reason="Nieuwe sleutel", amended_by="coordinator", planned_av_date=date(2040, 9, 1)
            ),
            reopened=("izegem",),
        ),
        ev.MemberJoined(
            participant=Participant(authority_id="tielt", name="Tielt"), rounds=("council-round",)
        ),
        ev.EffectiveDateNeeded(),
        ev.EffectiveDateSet(previous=date(2040, 12, 1), new=date(2041, 1, 1)),
        ev.AbortRequested(),
        ev.StepCancelled(),
        ev.StepCompensated(),
        ev.TrajectoryAborted(),
        ev.TrajectoryIntegrated(),
        ev.PhaseChanged(previous=Phase.CONSULTATION, phase=Phase.COUNCIL_ROUND),
        ev.MessageRefused(),
        ev.MessageRepeated(),
        ev.TaskCompleted(
            completion=TaskCompletion(
                step_id="council-round", evidence="doc://fiche", completed_by="coordinator"
            )
        ),
    ]
    assert {p.KIND for p in payloads} == set(EventKind)  # every kind, so none is left out
    said = {}
    for payload in payloads:
        event = AuditEvent(
            seq=1,
            kind=payload.KIND,
            on=day,
            at=datetime(2040, 2, 3, tzinfo=UTC),
            summary="ENGLISH SUMMARY",
            step_id="council-round",
            authority_id="izegem" if payload.KIND is EventKind.DECISION_RECORDED else None,
            data=ev.payload_data(payload),
        )
        said[payload.KIND] = describe_event(event, ctx)
        assert "ENGLISH" not in said[payload.KIND]
    assert said[EventKind.DECISION_RECORDED] == (
        "“Gemeenteraden beslissen”: uitstel door Izegem (zitting van 3 februari 2040, "
        "referentie GR/1, ronde 2)."
    )
    assert said[EventKind.ROUND_CLOSED] == (
        "Termijn van “Gemeenteraden beslissen” verstreken zonder beslissing van Izegem en "
        "Tielt; dit telt als onthouding."
    )
    assert said[EventKind.ROUND_REVISED] == (
        "“Gemeenteraden beslissen”: de beslissing van Tielt (zitting van 3 februari 2040) werd "
        "tijdig genomen maar na de termijn geregistreerd; de uitslag is herzien en de ronde is "
        "alsnog goedgekeurd."
    )
    assert said[EventKind.PHASE_CHANGED] == "Nieuwe fase: beslissingsronde in de gemeenteraden."
    assert (
        said[EventKind.ABORT_REQUESTED] == "Stopzetting van het traject gevraagd: Geen draagvlak."
    )
    assert said[EventKind.AMENDMENT] == (
        "Voorstel gewijzigd (Nieuwe sleutel); nieuwe beslissing gevraagd van Izegem; algemene "
        "vergadering nu gepland op 1 september 2040."
    )
    assert said[EventKind.EFFECTIVE_DATE_SET] == (
        "Ingangsdatum gewijzigd van 1 december 2040 naar 1 januari 2041."
    )
    # Stored by an older version without what the sentence needs: a shorter sentence of the
    # same kind, never the English summary.
    broken = AuditEvent(
        seq=1, kind=EventKind.ROUND_CLOSED, on=day, at=datetime(2040, 2, 3, tzinfo=UTC),
        summary="something English", data={},
    )  # fmt: skip
    assert describe_event(broken, ctx) == (
        "Termijn van een beslissingsronde verstreken; stilzwijgen telt als onthouding."
    )
    legacy_phase = broken.model_copy(update={"kind": EventKind.PHASE_CHANGED})
    assert describe_event(legacy_phase, ctx) == "Nieuwe fase."
