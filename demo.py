"""Demonstration: projectvereniging BIE moves into DVV Midwest on a compressed calendar.

`make up` runs this after the stack is up. One trajectory day passes in one second, so the
whole route (preparation, board decisions, the 90-day statute period, the round in sixteen
councils and WVI, the general assembly, the complaint window, the effective date and the
transfer) takes about four minutes. Watch it in the Web UI (the link is printed); the
script plays the coordinator and the councils through the same updates the CLI sends.
Councils answer on different days, one postpones first (uitstel), as in real life.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import zlib
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from codec.keyring import KeyRingError
from db.connect import DatabaseUnavailable, database_url
from db.connect import connect as connect_db
from db.register import get_cooperation, list_authorities
from log import configure_logging, get_logger
from operations.messages import stamped
from operations.requests import TrajectoryExists
from operations.start import start_trajectory
from schemas.common import AuthorityKind, CooperationKind, CooperationStatus, Outcome
from schemas.template import ASSEMBLY_BODY
from schemas.trajectory import (
    Ack,
    Asset,
    Calendar,
    DecisionInput,
    DelegateVote,
    Participant,
    StaffMember,
    StepStatus,
    TaskCompletion,
    TrajectoryRequest,
    TrajectoryStatus,
    workflow_id_for,
)
from settings import Settings, SettingsError, load_settings
from temporal_connection import TemporalUnavailable, connect

COOPERATION = "projectvereniging-bie"
SECONDS_PER_DAY = 1.0
POLL_SECONDS = 0.25
TASK_DAYS = 4  # a task is done four trajectory days after it opens
BOARD_DAYS = 6
POSTPONING_COUNCIL = "moorslede"

log = get_logger("demo")


def answer_day(authority_id: str, spread: int = 35) -> int:
    """Which day after the round opens a council decides: fixed per council (no randomness),
    spread over a few council meetings."""
    return 3 + zlib.crc32(authority_id.encode()) % spread


async def build_request(settings: Settings, today: date) -> TrajectoryRequest:
    conn = await connect_db(database_url(settings))
    try:
        cooperation = await get_cooperation(conn, COOPERATION)
        authorities = await list_authorities(conn)
    finally:
        await conn.close()
    if cooperation is None:
        raise SystemExit(f"demo: {COOPERATION!r} is not in the register; run the migrations")
    members = [
        a
        for a in authorities
        if a.is_midwest_member
        and a.kind in (AuthorityKind.MUNICIPALITY, AuthorityKind.INTERCOMMUNALE)
    ]
    everyone = tuple(
        Participant(
            authority_id=a.id,
            name=a.name,
            kind=a.kind,
            is_midwest_member=a.is_midwest_member,
            votes=a.votes,
        )
        for a in members
    )
    return TrajectoryRequest(
        cooperation_id=cooperation.id,
        cooperation_name=cooperation.name,
        kind=CooperationKind.PROJECTVERENIGING,
        # BIE's participants are every member here, so each council decides twice: on the
        # statute change of DVV Midwest and on leaving BIE.
        participants=everyone,
        members=everyone,
        planned_av_date=today + timedelta(days=150),
        effective_date=today + timedelta(days=210),
        staff=(
            StaffMember(name="Erfgoedcoördinator BIE", statute="contractual", function="erfgoed"),
            StaffMember(name="Cultuurbeleidsmedewerker BIE", statute="contractual"),
        ),
        assets=(
            Asset(description="Collectieregistratiesysteem", kind="contract"),
            Asset(description="Projectsubsidie erfgoedconvenant", kind="subsidy"),
        ),
        coordinator="Demonstratie",
        calendar=Calendar(speed=86400 / SECONDS_PER_DAY),
    )


async def find_or_start(
    client: Client, settings: Settings, again: bool
) -> WorkflowHandle[object, TrajectoryStatus] | None:
    handle: WorkflowHandle[object, TrajectoryStatus] = client.get_workflow_handle(
        workflow_id_for(COOPERATION), result_type=TrajectoryStatus
    )
    try:
        description = await handle.describe()
        if description.status is WorkflowExecutionStatus.RUNNING:
            log.info("demonstration already running; following it", workflow_id=handle.id)
            return handle
        if not again:
            log.info(
                "the demonstration has run before; see it in the Web UI "
                "or run `python demo.py --again`",
                workflow_id=handle.id,
                web_ui=settings.temporal_ui_url,
            )
            return None
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
    today = date.today()  # the wall clock is fine here: this is a client, not workflow code
    request = await build_request(settings, today)
    await _reset_register_for_rerun(settings)
    try:
        started = await start_trajectory(client, settings.task_queue, request)
    except TrajectoryExists:
        return handle
    log.info(
        "demonstration started",
        workflow_id=started.id,
        web_ui=f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{started.id}",
        participants=len(request.participants),
    )
    return client.get_workflow_handle(started.id, result_type=TrajectoryStatus)


async def _reset_register_for_rerun(settings: Settings) -> None:
    """A rerun of the demonstration starts BIE from 'active' again (demo data only)."""
    conn = await connect_db(database_url(settings))
    try:
        await conn.execute(
            "UPDATE cooperations SET status = $2, integrated_on = NULL WHERE id = $1",
            COOPERATION,
            CooperationStatus.ACTIVE.value,
        )
    finally:
        await conn.close()


async def play(handle: WorkflowHandle[object, TrajectoryStatus]) -> TrajectoryStatus:
    """Act as coordinator, boards and councils until the trajectory finishes."""
    postponed = False
    while True:
        try:
            status: TrajectoryStatus = await handle.query("status", result_type=TrajectoryStatus)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(POLL_SECONDS)
            continue
        if status.finished_on is not None:
            return status
        today = status.calendar_today(datetime.now(UTC))
        for step in status.steps:
            if step.status is not StepStatus.OPEN or step.opened_on is None:
                continue
            age = (today - step.opened_on).days
            # The union meeting waits for its convocation period (the status shows the day).
            doable = step.earliest is None or step.earliest <= status.today
            if step.kind.value == "task" and age >= TASK_DAYS and doable:
                await send(
                    handle,
                    "complete_task",
                    TaskCompletion(
                        step_id=step.id,
                        evidence=f"https://docs.midwest.example/bie/{step.id}.pdf",
                        completed_by="Coördinator (demo)",
                    ),
                )
            for party in step.parties:
                if party.outcome not in (None, Outcome.POSTPONE):
                    continue
                due_age = (
                    BOARD_DAYS if step.kind.value == "decision" else answer_day(party.authority_id)
                )
                if age < due_age:
                    continue
                outcome = Outcome.APPROVE
                if party.authority_id == POSTPONING_COUNCIL and not postponed:
                    outcome, postponed = Outcome.POSTPONE, True
                elif party.outcome is Outcome.POSTPONE and age < due_age + 20:
                    continue  # decides at a later council meeting
                await send(
                    handle,
                    "decide",
                    DecisionInput(
                        authority_id=party.authority_id,
                        outcome=outcome,
                        session_date=today,
                        reference=f"https://{party.authority_id}.example/besluit/{today.isoformat()}",
                        votes_for=(
                            20
                            if outcome is Outcome.APPROVE and party.authority_id != ASSEMBLY_BODY
                            else None
                        ),
                        # The general assembly's approval shows its delegates' votes.
                        delegates=(
                            tuple(
                                DelegateVote(authority_id=m.authority_id, outcome=Outcome.APPROVE)
                                for m in status.members or status.participants
                            )
                            if party.authority_id == ASSEMBLY_BODY and outcome is Outcome.APPROVE
                            else ()
                        ),
                        recorded_by="Secretariaat (demo)",
                        step_id=step.id,
                    ),
                )
        await asyncio.sleep(POLL_SECONDS)


async def send(
    handle: WorkflowHandle[object, TrajectoryStatus], name: str, message: BaseModel
) -> None:
    ack: Ack = await handle.execute_update(name, stamped(message), result_type=Ack)
    log.info(ack.message)


async def run(settings: Settings, again: bool) -> int:
    client = await connect(settings)
    handle = await find_or_start(client, settings, again)
    if handle is None:
        return 0
    final = await play(handle)
    log.info(
        "demonstration finished",
        phase=final.phase.value,
        integrated_on=str(final.finished_on),
        web_ui=settings.temporal_ui_url,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--again", action="store_true", help="run the demonstration again after a finished one"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        return asyncio.run(run(settings, args.again))
    except (TemporalUnavailable, DatabaseUnavailable) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 6
    except KeyRingError as exc:
        # No key ring, no start: there is never a plaintext fallback (codec/).
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
