"""Record the workflow histories that tests/test_replay.py replays in CI.

    python -m tests.record_histories                   # record every scenario
    python -m tests.record_histories --tag notify-start  # after a workflow change: add files
    python -m tests.record_histories --only abort-compensation --list
    python -m tests.record_histories --encrypt-existing  # histories recorded in clear: encrypt them

Each scenario runs a real trajectory on the time-skipping test server with a real worker and a
real PostgreSQL (an embedded server in a temporary folder, fully migrated, one fresh database
per scenario) and writes `await handle.fetch_history()` as JSON to
tests/histories/<scenario>.json, or tests/histories/<scenario>--<tag>.json with `--tag`.

Existing files are never overwritten unless `--overwrite` is given: a history recorded on
older workflow code stands for trajectories that are still running on that code, and must keep
replaying (see docs/changing-workflows.md).

Payloads are encrypted with the committed test-only key ring (tests/data/codec/README.md), as
every test client and worker encrypts them, and replay through the codec. `--encrypt-existing`
encrypts, in place, the payloads of files recorded before the codec existed: re-recording them
would lose the older workflow code they stand for.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from google.protobuf import json_format
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from codec.aes_gcm import AesGcmCodec
from db.migrate import apply_migrations
from operations.start import start_trajectory
from schemas.common import AuthorityKind, CooperationKind, Outcome
from schemas.template import Phase
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    EffectiveDateChange,
    JoinRequest,
    Participant,
    StepStatus,
    TrajectoryInput,
    TrajectoryRequest,
    TrajectoryStatus,
    workflow_id_for,
)
from stack.binaries import temporal_test_server
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from temporal_connection import register_search_attributes
from tests.support.codec import converter_for_tests, encrypt_history, keyring_for_tests
from tests.support.members import MUNICIPALITIES
from tests.support.trajectories import (
    decision,
    make_request,
    participant,
    play_everyone,
    running_worker,
    status_of,
    via_signals,
    wait_for,
)

HISTORY_DIR = Path(__file__).parent / "histories"
TAG_SEPARATOR = "--"

Handle = WorkflowHandle[Any, Any]
# A scenario starts its trajectory on the task queue, drives it to its end and returns it.
Scenario = Callable[[WorkflowEnvironment, str], Awaitable[Handle]]


def _step(status: TrajectoryStatus, step_id: str) -> StepStatus:
    return next(s.status for s in status.steps if s.id == step_id)


async def _today(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).date()


async def until_closed(handle: Handle) -> TrajectoryStatus:
    """Wait, without skipping time, until the run has closed; it must have completed.

    Not `handle.result()`: on the time-skipping server that unlocks time skipping, and the
    server then jumps its clock about ten years ahead even for a completed run, which soon
    pushes later trajectories' dates past the year 2100 that requests accept."""
    async with asyncio.timeout(120):
        while True:
            description = await handle.describe()
            if description.status is not WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.05)
    if description.status is not WorkflowExecutionStatus.COMPLETED:
        raise AssertionError(f"{handle.id} closed as {description.status}")
    return await status_of(handle)


async def _start(env: WorkflowEnvironment, queue: str, request: TrajectoryRequest) -> Handle:
    return await start_trajectory(env.client, queue, request)


def template_run(kind: CooperationKind) -> Scenario:
    async def run(env: WorkflowEnvironment, queue: str) -> Handle:
        handle = await _start(env, queue, make_request(kind, start=await _today(env)))
        await play_everyone(handle, via_signals(handle), env=env)
        await until_closed(handle)
        return handle

    run.__doc__ = f"A {kind.value}: every task completed, every party approving; integration."
    return run


async def rejection_amendment(env: WorkflowEnvironment, queue: str) -> Handle:
    """izegem rejects in the council round; the coordinator amends (new dates, a new round for
    every party that did not approve); everyone approves; integration."""
    request = make_request(CooperationKind.PROJECTVERENIGING, start=await _today(env))
    handle = await _start(env, queue, request)
    send = via_signals(handle)
    await play_everyone(
        handle,
        send,
        env=env,
        outcome_for=lambda step, who: (
            Outcome.REJECT if (step, who) == ("council-round", "izegem") else Outcome.APPROVE
        ),
        until=lambda s: s.phase is Phase.RENEGOTIATION,
    )
    assert request.planned_av_date is not None
    await send(
        "amend",
        Amendment(
            reason="Aangepaste verdeelsleutel",
            amended_by="Coördinator",
            planned_av_date=request.planned_av_date + timedelta(days=60),
            effective_date=request.effective_date + timedelta(days=60),
        ),
    )
    await wait_for(handle, lambda s: s.phase is not Phase.RENEGOTIATION, env=env)
    await play_everyone(handle, send, env=env)
    await until_closed(handle)
    return handle


async def changed_proposal(env: WorkflowEnvironment, queue: str) -> Handle:
    """izegem rejects in the council round; the coordinator changes the proposal: the board's
    text, the statutory period, both rounds and what follows start again; everyone approves
    the new text; integration on the new dates."""
    request = make_request(CooperationKind.PROJECTVERENIGING, start=await _today(env))
    handle = await _start(env, queue, request)
    send = via_signals(handle)
    await play_everyone(
        handle,
        send,
        env=env,
        outcome_for=lambda step, who: (
            Outcome.REJECT if (step, who) == ("council-round", "izegem") else Outcome.APPROVE
        ),
        until=lambda s: s.phase is Phase.RENEGOTIATION,
    )
    new_av = await _today(env) + timedelta(days=150)
    await send(
        "amend",
        Amendment(
            reason="Nieuwe verdeelsleutel",
            amended_by="Coördinator",
            changes_proposal=True,
            planned_av_date=new_av,
            effective_date=new_av + timedelta(days=60),
        ),
    )
    await wait_for(handle, lambda s: s.phase is not Phase.RENEGOTIATION, env=env)
    await play_everyone(handle, send, env=env)
    await until_closed(handle)
    return handle


async def project_call_refused(env: WorkflowEnvironment, queue: str) -> Handle:
    """A regional role with staff (the personnel lane) that applies to a project call after
    its integration; the call is not granted, which is noted, and the trajectory ends."""
    request = make_request(CooperationKind.REGIONAL_ROLE, start=await _today(env)).model_copy(
        update={"project_call": True}
    )
    handle = await _start(env, queue, request)
    await play_everyone(
        handle,
        via_signals(handle),
        env=env,
        outcome_for=lambda step, who: (
            Outcome.REJECT if step == "project-call-result" else Outcome.APPROVE
        ),
    )
    await until_closed(handle)
    return handle


async def abort_compensation(env: WorkflowEnvironment, queue: str) -> Handle:
    """Abort while the council round is open: drafts withdrawn, parties notified, register
    restored."""
    request = make_request(CooperationKind.PROJECTVERENIGING, start=await _today(env))
    handle = await _start(env, queue, request)
    send = via_signals(handle)
    await play_everyone(
        handle,
        send,
        env=env,
        until=lambda s: _step(s, "council-round") is StepStatus.OPEN,
    )
    await send("abort", AbortRequest(reason="Gemeenten kiezen een andere weg", aborted_by="C"))
    await until_closed(handle)
    return handle


async def silence_at_deadline(env: WorkflowEnvironment, queue: str) -> Handle:
    """staden never answers: a reminder, the round closes at its deadline with an
    abstention, an escalation; integration."""
    request = make_request(
        CooperationKind.SHARED_SERVICE,
        start=await _today(env),
        participants=("roeselare", "izegem", "tielt", "staden"),
    )
    handle = await _start(env, queue, request)
    await play_everyone(
        handle,
        via_signals(handle),
        env=env,
        silent=frozenset({"staden"}),
        silent_in=frozenset({"council-round"}),
    )
    await until_closed(handle)
    return handle


async def members_and_late_recording(env: WorkflowEnvironment, queue: str) -> Handle:
    """The statute change decided by all 16 municipalities and WVI while three participants
    decide their own exit; pittem's exit decision, taken on the deadline, is recorded after
    the round closed (within the recording grace): the round is revised from rejected to
    approved. The union meeting waits for its convocation period; the general assembly
    approves with its delegates' votes; integration."""
    members = (
        *(participant(m) for m in MUNICIPALITIES),
        Participant(authority_id="wvi", name="WVI", kind=AuthorityKind.INTERCOMMUNALE),
    )
    request = make_request(
        CooperationKind.PROJECTVERENIGING,
        start=await _today(env),
        participants=("izegem", "tielt", "pittem"),
    ).model_copy(update={"members": members})
    handle = await _start(env, queue, request)
    send = via_signals(handle)
    rejected = await play_everyone(
        handle,
        send,
        env=env,
        silent=frozenset({"pittem"}),
        silent_in=frozenset({"participants-exit"}),
        until=lambda s: s.phase is Phase.RENEGOTIATION,
    )
    exit_round = next(x for x in rejected.steps if x.id == "participants-exit")
    assert exit_round.due is not None
    late = decision("pittem", exit_round.due, step_id="participants-exit")
    await send("decide", late)
    await wait_for(handle, lambda s: s.phase is not Phase.RENEGOTIATION, env=env)
    await play_everyone(handle, send, env=env)
    await until_closed(handle)
    return handle


async def member_joins(env: WorkflowEnvironment, queue: str) -> Handle:
    """Olievlek: ledegem joins while the council round is open and decides in it."""
    handle = await _start(
        env, queue, make_request(CooperationKind.PROJECTVERENIGING, start=await _today(env))
    )
    send = via_signals(handle)
    await play_everyone(
        handle, send, env=env, until=lambda s: _step(s, "council-round") is StepStatus.OPEN
    )
    await send("join", JoinRequest(participant=participant("ledegem"), joined_by="C"))
    await wait_for(handle, lambda s: "ledegem" in s.pending_authorities, env=env)
    await play_everyone(handle, send, env=env)
    await until_closed(handle)
    return handle


async def late_effective_date(env: WorkflowEnvironment, queue: str) -> Handle:
    """The approvals come after the planned effective date: the trajectory asks for a new
    one; a backdated answer is rejected, a future one accepted; integration."""
    request = make_request(
        CooperationKind.REGIONAL_ROLE,
        start=await _today(env),
        # The general assembly can decide after the 90-day statute period; the 30-day
        # complaint window after it then ends well past day 100.
        av_after_days=100,
        effective_after_days=100,
    )
    handle = await _start(env, queue, request)
    send = via_signals(handle)
    waiting = await play_everyone(
        handle, send, env=env, until=lambda s: s.phase is Phase.AWAITING_EFFECTIVE_DATE
    )
    await send(
        "set_effective_date",
        EffectiveDateChange(effective_date=request.effective_date, reason="oud", changed_by="C"),
    )
    await send(
        "set_effective_date",
        EffectiveDateChange(
            effective_date=waiting.today + timedelta(days=20), reason="nieuw", changed_by="C"
        ),
    )
    await play_everyone(handle, send, env=env)
    await until_closed(handle)
    return handle


async def repeated_messages(env: WorkflowEnvironment, queue: str) -> Handle:
    """The same decision signalled twice and the same task completion twice: each repeat is
    recorded as `message-repeated` and changes nothing; then integration."""
    request = make_request(CooperationKind.INFORMAL_OVERLEG, start=await _today(env))
    handle = await _start(env, queue, request)
    status = await play_everyone(
        handle, via_signals(handle), env=env, until=lambda s: bool(s.pending_authorities)
    )
    send = via_signals(handle)
    authority = status.pending_authorities[0]
    for _ in range(2):
        await send("decide", decision(authority, status.today))
    await wait_for(handle, lambda s: any(e.kind == "message-repeated" for e in s.timeline), env=env)
    await play_everyone(handle, via_signals(handle), env=env)
    await until_closed(handle)
    return handle


async def rejected_messages(env: WorkflowEnvironment, queue: str) -> Handle:
    """Bad signals of every kind while the council round is open, each recorded as
    `message-rejected`; then integration."""
    request = make_request(CooperationKind.INFORMAL_OVERLEG, start=await _today(env))
    handle = await _start(env, queue, request)
    status = await play_everyone(
        handle,
        via_signals(handle),
        env=env,
        until=lambda s: bool(s.pending_authorities),
    )
    bad: list[tuple[str, Any]] = [
        ("decide_signal", "approve"),
        ("decide_signal", {"authority_id": "atlantis", "outcome": "approve"}),
        (
            "decide_signal",
            {
                "authority_id": status.pending_authorities[0],
                "outcome": "approve",
                "session_date": "9999-12-31",
                "reference": "x",
                "recorded_by": "y",
            },
        ),
        ("complete_task_signal", {"step_id": "no-such-task", "evidence": "x", "completed_by": "y"}),
        ("amend_signal", {"reason": "nothing to amend", "amended_by": "C"}),
        (
            "join_signal",
            {"participant": {"authority_id": "roeselare", "name": "R"}, "joined_by": "C"},
        ),
        (
            "set_effective_date_signal",
            {"effective_date": "1900-01-01", "reason": "r", "changed_by": "C"},
        ),
        ("abort_signal", {"reason": "\x00\x1b[2J", "aborted_by": "C"}),
    ]
    for name, payload in bad:
        await handle.signal(name, payload)
    expected = status.rejected_messages + len(bad)
    await wait_for(handle, lambda s: s.rejected_messages == expected)
    await play_everyone(handle, via_signals(handle), env=env)
    await until_closed(handle)
    return handle


SCENARIOS: dict[str, Scenario] = {
    **{f"template-{kind.value}": template_run(kind) for kind in CooperationKind},
    "rejection-amendment": rejection_amendment,
    "abort-compensation": abort_compensation,
    "silence-at-deadline": silence_at_deadline,
    "member-joins": member_joins,
    "late-effective-date": late_effective_date,
    "rejected-messages": rejected_messages,
    "repeated-messages": repeated_messages,
    "members-and-late-recording": members_and_late_recording,
    "changed-proposal": changed_proposal,
    "project-call-refused": project_call_refused,
}


def scenario_of(path: Path) -> str:
    """`abort-compensation--notify-start.json` -> `abort-compensation`."""
    return path.stem.split(TAG_SEPARATOR, 1)[0]


async def workflow_id_of(history: WorkflowHistory) -> str:
    """The workflow id the history ran under, derived from its input the way the starter
    derives it (the id is not part of the history's events)."""
    started = history.events[0].workflow_execution_started_event_attributes
    [inp] = await converter_for_tests().decode(started.input.payloads, [TrajectoryInput])
    assert isinstance(inp, TrajectoryInput)
    return workflow_id_for(inp.request.cooperation_id)


async def load_history(text: str) -> WorkflowHistory:
    """A history file's text as a `WorkflowHistory` under its own workflow id."""
    placeholder = WorkflowHistory.from_json("unknown", text)
    return WorkflowHistory.from_json(await workflow_id_of(placeholder), text)


# --- the real components ------------------------------------------------------------------


@asynccontextmanager
async def embedded_database() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """An embedded PostgreSQL in a temporary folder with one migrated template database;
    yields a function that returns the URL of a fresh copy of it."""
    with tempfile.TemporaryDirectory(prefix="inkanteling-record-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "data", free_port())
        server.start()
        try:
            admin_url = server.admin_url()
            base = admin_url.rpartition("/")[0]
            template = f"record_tmpl_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(admin_url)
            try:
                await admin.execute(f'CREATE DATABASE "{template}"')
            finally:
                await admin.close()
            await apply_migrations(f"{base}/{template}")

            async def fresh() -> str:
                name = f"record_{uuid.uuid4().hex[:12]}"
                conn = await asyncpg.connect(admin_url)
                try:
                    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                finally:
                    await conn.close()
                return f"{base}/{name}"

            yield fresh
        finally:
            server.stop()


@asynccontextmanager
async def time_skipping_environment() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter_for_tests(),
        test_server_existing_path=str(temporal_test_server()),
    )
    async with env:
        await register_search_attributes(env.client)
        yield env


# --- recording ----------------------------------------------------------------------------


def target_path(scenario: str, tag: str | None, directory: Path = HISTORY_DIR) -> Path:
    suffix = f"{TAG_SEPARATOR}{tag}" if tag else ""
    return directory / f"{scenario}{suffix}.json"


async def run_scenarios(names: Sequence[str]) -> AsyncIterator[tuple[str, WorkflowHistory]]:
    """Run the named scenarios one after the other; yield each one's complete history."""
    async with embedded_database() as fresh_database, time_skipping_environment() as env:
        for name in names:
            async with running_worker(env.client, await fresh_database()) as queue:
                handle = await SCENARIOS[name](env, queue)
                yield name, await handle.fetch_history()


def record(
    names: Sequence[str],
    *,
    tag: str | None = None,
    overwrite: bool = False,
    directory: Path = HISTORY_DIR,
) -> list[Path]:
    targets = {name: target_path(name, tag, directory) for name in names}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{', '.join(existing)} already exist(s). Histories of older workflow code must be "
            "kept: record next to them with --tag NAME, or pass --overwrite only if the "
            "workflow code did not change since they were recorded."
        )
    directory.mkdir(parents=True, exist_ok=True)

    async def main() -> list[Path]:
        # `timeout` or a CI runner stops us with SIGTERM: unwind, so PostgreSQL is stopped.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        written = []
        async for name, history in run_scenarios(names):
            text = history.to_json()
            targets[name].write_text(text + "\n", encoding="utf-8")
            print(f"{targets[name]}: {len(history.events)} events, {len(text) // 1024} KiB")
            written.append(targets[name])
        return written

    return asyncio.run(main())


def encrypt_existing(directory: Path = HISTORY_DIR) -> list[Path]:
    """Encrypt the clear payloads of every history file in `directory`, in place, with the
    test-only ring; files without any are left untouched. Returns the files rewritten."""
    codec = AesGcmCodec(keyring_for_tests())
    rewritten = []
    for path in sorted(directory.glob("*.json")):
        history = History()
        json_format.Parse(path.read_text(encoding="utf-8"), history)
        if encrypt_history(history, codec):
            path.write_text(json_format.MessageToJson(history) + "\n", encoding="utf-8")
            rewritten.append(path)
    return rewritten


def _tag(value: str) -> str:
    if not value or TAG_SEPARATOR in value or not all(c.isalnum() or c in "-_." for c in value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: a tag is letters, digits, '-', '_' or '.', without '--'"
        )
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.record_histories",
        description="Record workflow histories of real trajectory runs for the replay test.",
    )
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), metavar="SCENARIO")
    parser.add_argument("--tag", type=_tag, help="write <scenario>--<tag>.json (keep the old)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--encrypt-existing",
        action="store_true",
        help="encrypt the payloads of history files recorded in clear, in place, and exit",
    )
    args = parser.parse_args(argv)
    if args.encrypt_existing:
        for path in encrypt_existing():
            print(f"{path}: encrypted")
        return 0
    if args.list:
        for name, scenario in SCENARIOS.items():
            print(f"{name}: {' '.join((scenario.__doc__ or '').split())}")
        return 0
    names = list(args.only or SCENARIOS)
    try:
        record(names, tag=args.tag, overwrite=args.overwrite)
    except FileExistsError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
