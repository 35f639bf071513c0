"""The trajectory commands of `starter.py`, run as a coordinator runs them: each in a process
of its own, against the real Temporal dev server, a real worker and a fresh PostgreSQL database.

Most commands run in a process forked from a server that imported the application once
(`runpy` runs starter.py as `__main__`: its argument parsing, exit code, stdout and stderr are
the real ones); interpreter start-up and imports are nearly all of a command's cost. The
servers-down cases start a fresh `python starter.py`, so start-up and interpreter exit are
covered too.

Each test registers its own cooperation (a unique id), so its workflow id never meets another
test's on the shared dev server. Commands take turns (see `in_turn`).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from cli.exit_codes import ExitCode
from operations.messages import send_update
from operations.queries import ListFilter, NoWorker, trajectory_status, visibility_query
from operations.start import start_trajectory
from schemas.common import CooperationKind
from schemas.template import ASSEMBLY_BODY, Phase
from schemas.trajectory import AbortRequest, TrajectoryStatus
from stack.binaries import temporal_cli
from stack.ports import free_port
from starter import build_parser
from tests.conftest import CodecServer
from tests.support.trajectories import make_request, running_worker

ROOT = Path(__file__).resolve().parent.parent
COMMAND_TIMEOUT = 60.0
POLL_INTERVAL = 0.1
TODAY = date.today()
AV = TODAY + timedelta(days=200)
EFFECTIVE = TODAY + timedelta(days=260)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error(self) -> str:
        return self.stderr.strip()


# A process per command, forked from a server that preloaded `starter` (and so the whole
# application). The child is given code to `exec`, a builtin, so it needs no test module.
_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(["starter"])
_CHILD = """
import os, runpy, sys
os.environ.update(ENV)
for fd, path in ((1, STDOUT), (2, STDERR)):
    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
sys.argv = ["starter.py", *ARGS]
runpy.run_path(STARTER, run_name="__main__")
"""


def _forked_starter(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory(prefix="starter-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        names = {
            "ENV": env,
            "ARGS": args,
            "STDOUT": str(stdout),
            "STDERR": str(stderr),
            "STARTER": str(ROOT / "starter.py"),
        }
        process = _FORKS.Process(target=exec, args=(_CHILD, names))
        process.start()
        process.join(COMMAND_TIMEOUT)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise AssertionError(f"starter.py {args} did not finish within {COMMAND_TIMEOUT} s")
        return process.exitcode, stdout.read_text(), stderr.read_text()


async def run_forked(args: list[str], env: dict[str, str]) -> Result:
    started = asyncio.get_running_loop().time()
    code, out, err = await asyncio.to_thread(_forked_starter, args, env)
    seconds = asyncio.get_running_loop().time() - started
    print(f"{seconds:6.2f}s rc={code} {' '.join(args)}")
    return Result(code, out, err, seconds)


async def run_process(*argv: str, env: dict[str, str]) -> Result:
    started = asyncio.get_running_loop().time()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{argv} did not finish within {COMMAND_TIMEOUT} s") from None
    assert proc.returncode is not None
    seconds = asyncio.get_running_loop().time() - started
    print(f"{seconds:6.2f}s rc={proc.returncode} {' '.join(argv[2:])}")
    return Result(proc.returncode, out.decode(), err.decode(), seconds)


@dataclass
class Cli:
    """`starter.py` pointed at the test's Temporal, task queue and database."""

    env: dict[str, str]
    client: Client
    db_url: str
    cooperations: list[str] = field(default_factory=list)

    async def __call__(
        self, *args: str | date | Path, env: dict[str, str] | None = None, fresh: bool = False
    ) -> Result:
        """Run `starter.py ARGS`; `fresh`: in a new interpreter rather than a forked one."""
        environment = {**self.env, **(env or {})}
        if fresh:
            command = (sys.executable, str(ROOT / "starter.py"), *map(str, args))
            return await run_process(*command, env=environment)
        return await run_forked([str(a) for a in args], environment)

    async def cooperation(
        self, kind: CooperationKind, members: tuple[str, ...] = (), status: str = "active"
    ) -> str:
        """A cooperation of its own in the register, so its workflow id is the test's alone."""
        cooperation_id = f"cli-{kind.value[:8]}-{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.db_url)
        try:
            await conn.execute(
                "INSERT INTO cooperations (id, name, kind, status, host) "
                "VALUES ($1, $2, $3, $4, $5)",
                cooperation_id,
                f"Testverband {cooperation_id[-8:]}",
                kind.value,
                status,
                # A shared service names its trekkende gemeente (start refuses one without).
                "roeselare" if kind is CooperationKind.SHARED_SERVICE else None,
            )
            await conn.executemany(
                "INSERT INTO cooperation_members (cooperation_id, authority_id) VALUES ($1, $2)",
                [(cooperation_id, m) for m in members],
            )
        finally:
            await conn.close()
        self.cooperations.append(cooperation_id)
        return cooperation_id

    async def status(self, cooperation_id: str) -> dict[str, Any]:
        result = await self("status", cooperation_id, "--json")
        assert result.code == ExitCode.OK, result.stderr
        data: dict[str, Any] = result.json()
        return data

    async def wait(
        self,
        cooperation_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        within: float = 60.0,
    ) -> dict[str, Any]:
        """Poll the status until `predicate` holds. Waiting is the test's business, not the
        command line's: it asks in-process, which spares a process start per poll."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        workflow_id = f"inkanteling-{cooperation_id.removeprefix('inkanteling-')}"
        while True:
            reading = await trajectory_status(self.client, workflow_id)
            status: dict[str, Any] = reading.status.model_dump(mode="json")
            if predicate(status):
                return status
            if loop.time() > deadline:
                raise AssertionError(f"not reached within {within} s; phase {status['phase']}")
            await asyncio.sleep(POLL_INTERVAL)


@pytest.fixture
async def cli(dev_env: WorkflowEnvironment, database_url: str) -> AsyncIterator[Cli]:
    async with running_worker(dev_env.client, database_url) as queue:
        env = {
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "INKANTELING_TASK_QUEUE": queue,
            "DATABASE_URL": database_url,
            "INKANTELING_LOG_LEVEL": "error",
        }
        runner = Cli(env, dev_env.client, database_url)
        try:
            yield runner
        finally:
            for cooperation_id in runner.cooperations:
                handle = dev_env.client.get_workflow_handle(f"inkanteling-{cooperation_id}")
                try:
                    if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                        await handle.terminate("test finished")
                except RPCError:
                    pass  # never started


def step(status: dict[str, Any], step_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in status["steps"] if s["id"] == step_id)
    return found


def is_open(step_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda status: step(status, step_id)["status"] == "open"


async def concurrently(*calls: Awaitable[Result]) -> list[Result]:
    """All at once: for commands that no worker answers (servers or worker down)."""
    return list(await asyncio.gather(*calls))


async def in_turn(*calls: Awaitable[Result]) -> list[Result]:
    """One command after the other. Run at once, queries and updates to one trajectory can
    stall for the workflow-task timeout on a worker without a cache (sdk_reports/README.md,
    claim 3; docs/architecture.md, "Concurrent messages"); what is tested here is each
    command's answer, so they take turns."""
    return [await call for call in calls]


# --- start, status, list, history -------------------------------------------------------------


async def test_start_status_list_history(cli: Cli, tmp_path: Path) -> None:
    coop = await cli.cooperation(CooperationKind.PROJECTVERENIGING)
    staff = tmp_path / "staff.yaml"
    staff.write_text("- {name: An Peeters, statute: contractual}\n", encoding="utf-8")
    assets = tmp_path / "assets.json"
    assets.write_text('[{"description": "Depot", "kind": "asset", "value_eur": 1200}]')
    # A compressed calendar: the first task's 30 days pass in about a second, so it becomes
    # overdue while we watch; the general assembly lies years ahead in that calendar.
    started = await cli(
        "start", coop, "--participants", "roeselare, izegem,wvi", "--av-date", AV,
        "--effective-date", EFFECTIVE, "--staff-file", staff, "--assets-file", assets,
        "--coordinator", "Coördinator Midwest", "--speed", "2000000", "--json",
    )  # fmt: skip
    assert started.code == ExitCode.OK, started.stderr
    data = started.json()
    workflow_id = f"inkanteling-{coop}"
    assert data["workflow_id"] == workflow_id
    assert data["web_ui"].endswith(f"/namespaces/default/workflows/{workflow_id}/{data['run_id']}")
    participants = data["status"]["participants"]
    # Names, kinds, membership and votes come from the register.
    assert [(p["authority_id"], p["name"], p["kind"]) for p in participants] == [
        ("roeselare", "Roeselare", "municipality"),
        ("izegem", "Izegem", "municipality"),
        ("wvi", "WVI (West-Vlaamse Intercommunale)", "intercommunale"),
    ]

    again = await cli("start", coop, "--av-date", AV, "--effective-date", EFFECTIVE)
    assert again.code == ExitCode.CONFLICT
    assert "already running" in again.error and again.stdout == ""

    overdue = await cli.wait(workflow_id, lambda s: s["overdue"], within=30)
    assert step(overdue, "business-case")["overdue"] is True
    assert overdue["cooperation_name"].startswith("Testverband")

    text, listed, by_kind, listed_text = await in_turn(
        cli("status", coop),
        cli("list", "--overdue", "--json"),
        cli("list", "--kind", "shared-service", "--all", "--json"),
        cli("list", "--overdue", "--phase", "preparation"),
    )
    assert text.code == ExitCode.OK, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"{overdue['cooperation_name']} ({coop})"
    for heading in ("LEGAL", "APPROVALS", "PARTICIPANTS", "RECENT"):
        assert any(line.startswith(heading) for line in lines)
    business_case = next(line for line in lines if " business-case " in line)
    assert business_case.lstrip().startswith("!") and "overdue" in business_case
    assert any(line.split()[:2] == ["overdue", "!"] for line in lines)
    assert any("web UI" in line and workflow_id in line for line in lines)

    for result in (listed, by_kind, listed_text):
        assert result.code == ExitCode.OK, result.stderr
    row = next(t for t in listed.json() if t["workflow_id"] == workflow_id)
    assert row["kind"] == "projectvereniging" and row["execution_status"] == "running"
    assert (row["phase"], row["overdue"]) == ("preparation", True)
    assert row["effective_date"] == EFFECTIVE.isoformat()
    assert workflow_id not in {t["workflow_id"] for t in by_kind.json()}
    assert listed_text.stdout.splitlines()[0].split() == [
        "COOPERATION", "KIND", "PHASE", "STATE", "EFFECTIVE", "PENDING", "STARTED",
    ]  # fmt: skip
    assert any(line.startswith("!") and coop in line for line in listed_text.stdout.splitlines())

    history, history_json, wrong_run = await in_turn(
        cli("history", workflow_id),
        cli("history", coop, "--json"),
        cli("history", coop, "--run", "no-such-run"),
    )
    assert history.code == ExitCode.OK, history.stderr
    assert history.stdout.splitlines()[0].startswith(f"history of {workflow_id}, run ")
    assert history.stdout.splitlines()[1].split() == ["SEQ", "DATE", "KIND", "ACTOR", "SUMMARY"]
    events = history_json.json()
    assert events[0]["seq"] == 1 and events[0]["kind"] == "trajectory-started"
    assert events[0]["actor"] == "Coördinator Midwest"
    assert wrong_run.code == ExitCode.NOT_FOUND and "no-such-run" in wrong_run.error


def test_visibility_query_combines_filters() -> None:
    query = visibility_query(
        ListFilter(
            phase=Phase.COUNCIL_ROUND,
            kind=CooperationKind.SHARED_SERVICE,
            pending="izegem",
            overdue=True,
        )
    )
    assert query == (
        "WorkflowType = 'InkantelingTrajectory' AND ExecutionStatus = 'Running' AND "
        "TrajectoryPhase = 'council-round' AND CooperationKind = 'shared-service' AND "
        "PendingAuthorities = 'izegem' AND Overdue = true"
    )
    assert visibility_query(ListFilter(include_closed=True)) == (
        "WorkflowType = 'InkantelingTrajectory'"
    )


# --- messages -----------------------------------------------------------------------------------


async def test_messages_and_their_refusals(cli: Cli, tmp_path: Path) -> None:
    """Tasks, a decision with votes, join, effective date and abort on a real-time calendar;
    each refusal by the workflow reaches the coordinator in the workflow's own words."""
    coop = await cli.cooperation(CooperationKind.PROJECTVERENIGING)
    request = tmp_path / "request.yaml"
    request.write_text(
        f"cooperation_id: {coop}\n"
        "participants: [roeselare, izegem, {authority_id: tielt, name: ignored}]\n"
        f"planned_av_date: {AV}\n"
        f"effective_date: {EFFECTIVE}\n"
        "deadlines: {union_convocation_working_days: 15}\n",
        encoding="utf-8",
    )
    started = await cli("start", "--request", request, "--coordinator", "Tester")
    assert started.code == ExitCode.OK, started.stderr
    assert started.stdout.startswith(f"started inkanteling-{coop} (run ")
    await cli.wait(coop, is_open("business-case"))

    done = await cli("task", "done", coop, "business-case", "--evidence", "doc://bc", "--json")
    assert done.code == ExitCode.OK, done.stderr
    assert done.json() == {
        "workflow_id": f"inkanteling-{coop}",
        "update": "complete_task",
        "message": "task business-case completed",
        "no_op": False,
    }
    repeated, unknown_task, not_open = await in_turn(
        cli("task", "done", coop, "business-case", "--evidence", "doc://bc"),
        cli("task", "done", coop, "no-such-step", "--evidence", "x"),
        cli("task", "done", coop, "legal-scan", "--evidence", "x"),
    )
    assert repeated.code == ExitCode.OK
    assert repeated.stdout.strip() == (
        "already recorded, nothing changed: task business-case was already completed"
    )
    assert unknown_task.code == ExitCode.REFUSED
    assert unknown_task.error.startswith("no task 'no-such-step' in this trajectory")
    assert not_open.code == ExitCode.REFUSED
    assert (
        not_open.error == "task 'legal-scan' is not open yet; it waits for: external-legal-counsel"
    )

    await cli("task", "done", coop, "midwestoverleg-proposal", "--evidence", "doc://mo")
    status = await cli.wait(coop, is_open("board-principle"))
    awaiting = await cli("list", "--pending", "dvv-midwest-rvb", "--json")
    assert f"inkanteling-{coop}" in {t["workflow_id"] for t in awaiting.json()}
    decided = await cli(
        "decide", coop, "dvv-midwest-rvb", "approve", "--reference", "RvB-2026-11",
        "--for", "10", "--against", "2", "--abstained", "1", "--recorded-by", "Secretariaat",
        "--note", "unaniem na bespreking",
    )  # fmt: skip
    assert decided.code == ExitCode.OK, decided.stderr
    assert decided.stdout.strip() == "decision of dvv-midwest-rvb on board-principle recorded"
    status = await cli.status(coop)
    (party,) = step(status, "board-principle")["parties"]
    assert party["outcome"] == "approve"
    assert party["decision"]["session_date"] == status["today"]  # the calendar's today
    assert (party["decision"]["votes_for"], party["decision"]["votes_against"]) == (10, 2)
    assert party["decision"]["recorded_by"] == "Secretariaat"

    same, different, not_party, unknown, future, bad_outcome, bad_votes = (
        await in_turn(
            cli("decide", coop, "dvv-midwest-rvb", "approve", "--reference", "RvB-2026-11",
                "--for", "10", "--against", "2", "--abstained", "1", "--json",
                "--note", "unaniem na bespreking"),
            cli("decide", coop, "dvv-midwest-rvb", "reject", "--reference", "RvB-2026-11"),
            cli("decide", coop, "provincie-west-vlaanderen", "approve", "--reference", "x"),
            cli("decide", coop, "atlantis", "approve", "--reference", "x"),
            cli("decide", coop, "roeselare", "approve", "--reference", "x",
                "--session-date", TODAY + timedelta(days=3)),
            cli("decide", coop, "roeselare", "yes", "--reference", "x"),
            cli("decide", coop, "roeselare", "approve", "--reference", "x", "--for", "-1"),
        )
    )  # fmt: skip
    assert same.code == ExitCode.OK, same.stderr
    assert same.json()["no_op"] is True
    assert different.code == ExitCode.REFUSED
    # The board's decision closed the step: a different one is refused in the workflow's words.
    assert different.error == (
        "'dvv-midwest-rvb' has no open decision in step 'board-principle' right now"
    )
    assert not_party.code == ExitCode.REFUSED
    assert not_party.error.startswith(
        "authority 'provincie-west-vlaanderen' is not a party to this trajectory (parties: "
    )
    assert len(not_party.stderr.splitlines()) == 1 and not_party.stdout == ""
    assert unknown.code == ExitCode.NOT_FOUND
    assert "atlantis" in unknown.error and "starter.py register authorities" in unknown.error
    assert future.code == ExitCode.REFUSED
    assert "lies in the future" in future.error
    assert bad_outcome.code == ExitCode.INVALID_INPUT
    assert bad_outcome.error == (
        "OUTCOME: must be one of approve, reject, postpone, abstain (got 'yes')"
    )
    assert bad_votes.code == ExitCode.INVALID_INPUT
    assert bad_votes.error.startswith("--for: ")

    joined, amend, backdated, before_av, unknown_member, body = await in_turn(
        cli("join", coop, "ledegem", "--json"),
        cli("amend", coop, "--reason", "nieuwe verdeelsleutel"),
        cli("effective-date", coop, TODAY - timedelta(days=1), "--reason", "x"),
        cli("effective-date", coop, AV - timedelta(days=1), "--reason", "x"),
        cli("join", coop, "atlantis"),
        cli("join", coop, "dvv-midwest-av"),
    )
    assert joined.code == ExitCode.OK, joined.stderr
    assert joined.json()["message"] == "ledegem joined"
    assert amend.code == ExitCode.REFUSED
    assert amend.error == "nothing to amend: no decision has been rejected"
    assert backdated.code == ExitCode.REFUSED and "backdating is not allowed" in backdated.error
    assert before_av.code == ExitCode.REFUSED and "falls before the general assembly" in (
        before_av.error
    )
    assert unknown_member.code == ExitCode.NOT_FOUND and "atlantis" in unknown_member.error
    assert body.code == ExitCode.INVALID_INPUT
    assert body.error == "AUTHORITY: dvv-midwest-av: a body of DVV Midwest, not a participant"

    again, moved = await in_turn(
        cli("join", coop, "ledegem"),
        cli("effective-date", coop, EFFECTIVE + timedelta(days=31), "--reason", "AV later"),
    )
    assert again.code == ExitCode.REFUSED
    assert again.error == "'ledegem' already takes part in this trajectory"
    assert moved.code == ExitCode.OK, moved.stderr
    status = await cli.status(coop)
    assert status["effective_date"] == (EFFECTIVE + timedelta(days=31)).isoformat()
    assert "ledegem" in [p["authority_id"] for p in status["participants"]]

    aborted = await cli("abort", coop, "--reason", "gemeenten kiezen een andere weg")
    assert aborted.code == ExitCode.OK, aborted.stderr
    assert aborted.stdout.strip() == "abort accepted; compensating steps run now"
    final = await cli.wait(coop, lambda s: s["phase"] == "aborted" and s["finished_on"])
    assert final["abort_reason"] == "gemeenten kiezen een andere weg"

    late, shown, history = await in_turn(
        cli("task", "done", coop, "legal-scan", "--evidence", "x"),
        cli("status", coop),
        cli("history", coop, "--json"),
    )
    assert late.code == ExitCode.REFUSED
    # The status shows the end a moment before the run closes: a message sent in between is
    # told that the trajectory ended before it arrived.
    assert late.error.startswith(
        (
            f"the trajectory inkanteling-{coop} has ended (completed, ",
            f"the trajectory inkanteling-{coop} ended before the message arrived",
        )
    ), late.error
    assert shown.code == ExitCode.OK and "abort reason" in shown.stdout
    kinds = [event["kind"] for event in history.json()]
    assert kinds[0] == "trajectory-started" and kinds[-1] == "trajectory-aborted"
    assert "decision-recorded" in kinds and "member-joined" in kinds


# --- bad input, unknown ids, servers down -------------------------------------------------------


async def test_start_refuses_bad_requests(cli: Cli, tmp_path: Path) -> None:
    coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    no_members = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    dates = ("--av-date", AV, "--effective-date", EFFECTIVE)
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(
        json.dumps({"cooperation_id": coop, "planned_av_date": "15/06/2027", "colour": "red"})
    )
    cases: list[tuple[tuple[str | date | Path, ...], ExitCode, str]] = [
        (("atlantis", "--participants", "roeselare", *dates), ExitCode.NOT_FOUND,
         "no cooperation 'atlantis' in the register; `starter.py register list` lists them"),
        ((coop, "--participants", "roeselare,atlantis", *dates), ExitCode.NOT_FOUND,
         "unknown authority: atlantis (not in the register); "
         "`starter.py register authorities` lists them"),
        (("wijk-werken", *dates), ExitCode.INVALID_INPUT,
         "COOPERATION: wijk-werken is integrated on 2018-01-01; there is nothing left to "
         "integrate"),
        ((coop, "--participants", "roeselare", "--av-date", "2027-13-01",
          "--effective-date", EFFECTIVE), ExitCode.INVALID_INPUT,
         "--av-date: '2027-13-01' is not a calendar date"),
        ((coop, "--participants", "roeselare", "--av-date", "01/02/2027",
          "--effective-date", EFFECTIVE), ExitCode.INVALID_INPUT,
         "--av-date: must be a date as YYYY-MM-DD (got '01/02/2027')"),
        ((coop, "--participants", "roeselare", "--av-date", TODAY,
          "--effective-date", EFFECTIVE), ExitCode.INVALID_INPUT,
         f"--av-date: {TODAY} must lie in the future (today is {TODAY})"),
        ((coop, "--participants", "roeselare", "--av-date", EFFECTIVE,
          "--effective-date", AV), ExitCode.INVALID_INPUT,
         f"request: effective_date {AV} is before planned_av_date {EFFECTIVE}; "
         "the transfer follows the general assembly"),
        ((coop, "--participants", "roeselare", *dates, "--speed", "0.5"), ExitCode.INVALID_INPUT,
         "--speed: Input should be greater than or equal to 1"),
        ((no_members, *dates), ExitCode.INVALID_INPUT,
         f"--participants: the register lists no members of {no_members}; name them"),
        ((coop, "--participants", "Roeselare", *dates), ExitCode.INVALID_INPUT,
         "--participants: must be a register id: lowercase letters"),
        (("--request", bad_file), ExitCode.INVALID_INPUT,
         "--av-date: must be a date as YYYY-MM-DD (got '15/06/2027')\n"
         "colour: Extra inputs are not permitted"),
        (("--request", tmp_path / "missing.yaml"), ExitCode.INVALID_INPUT,
         f"{tmp_path / 'missing.yaml'}: cannot read"),
    ]  # fmt: skip
    results = await in_turn(*(cli("start", *args) for args, _, _ in cases))
    for (args, code, message), result in zip(cases, results, strict=True):
        assert (result.code, result.stdout) == (code, ""), (args, result.stderr)
        assert result.error.startswith(message), (args, result.stderr)


async def test_unknown_trajectory_and_bad_values(cli: Cli) -> None:
    cases: list[tuple[tuple[str, ...], ExitCode, str]] = [
        (("status", "nowhere"), ExitCode.NOT_FOUND,
         "no trajectory inkanteling-nowhere; `starter.py list --all` shows the trajectories"),
        (("decide", "inkanteling-nowhere", "izegem", "approve", "--reference", "r"),
         ExitCode.NOT_FOUND, "no trajectory inkanteling-nowhere"),
        (("history", "nowhere"), ExitCode.NOT_FOUND, "no recorded history for inkanteling-nowhere"),
        (("status", "Not_An_Id"), ExitCode.INVALID_INPUT, "trajectory id: must be a register id"),
        (("list", "--phase", "dreaming"), ExitCode.INVALID_INPUT,
         "--phase: must be one of preparation, consultation, council-round"),
        (("effective-date", "nowhere", "next week", "--reason", "r"), ExitCode.INVALID_INPUT,
         "DATE: must be a date as YYYY-MM-DD (got 'next week')"),
        (("amend", "nowhere", "--reason", "r", "--reopen", "izegem,,Tielt"),
         ExitCode.INVALID_INPUT, "--reopen: must be a register id"),
        (("decide", "nowhere", "izegem", "approve"), ExitCode.USAGE,
         "usage: starter.py decide"),
    ]  # fmt: skip
    results = await in_turn(*(cli(*args) for args, _, _ in cases))
    for (args, code, message), result in zip(cases, results, strict=True):
        assert (result.code, result.stdout) == (code, ""), (args, result.stderr)
        assert message in result.error, (args, result.stderr)


async def test_servers_down(cli: Cli) -> None:
    """Each command says which server it cannot reach and what to start (exit code 6)."""
    closed = f"127.0.0.1:{free_port()}"
    no_temporal = {"TEMPORAL_ADDRESS": closed}
    no_postgres = {"DATABASE_URL": f"postgresql://postgres@{closed}/x"}
    coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    dates = ("--av-date", str(AV), "--effective-date", str(EFFECTIVE))
    temporal_cases = [
        ("start", coop, "--participants", "roeselare", *dates),
        ("status", coop),
        ("list",),
        ("decide", coop, "izegem", "approve", "--reference", "r"),
        ("abort", coop, "--reason", "r"),
    ]
    postgres_cases = [
        ("start", coop, "--participants", "roeselare", *dates),
        ("history", coop),
        ("join", coop, "ledegem"),
    ]
    results = await in_turn(
        *(cli(*args, env=no_temporal, fresh=True) for args in temporal_cases),
        *(cli(*args, env=no_postgres, fresh=True) for args in postgres_cases),
    )
    for args, result in zip([*temporal_cases, *postgres_cases], results, strict=True):
        assert (result.code, result.stdout) == (ExitCode.UNAVAILABLE, ""), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, (args, result.stderr)
    for result in results[: len(temporal_cases)]:
        assert result.error.startswith(f"cannot reach Temporal at {closed}")
        assert result.error.endswith(
            "start the local stack with `make stack` or set TEMPORAL_ADDRESS"
        )
    for result in results[len(temporal_cases) :]:
        assert result.error.startswith(f"cannot reach PostgreSQL at postgresql://postgres@{closed}")
        assert result.error.endswith("start the local stack with `make stack` or fix DATABASE_URL")


async def test_no_worker_is_said_not_waited_for(dev_env: WorkflowEnvironment) -> None:
    """Without a worker the server would hold a query or update until it times out; with
    none polling the task queue the commands say so at once, what to start, and that the
    message was not delivered (in-process, with a short bound; tests/test_cli_failures.py
    has a worker that stopped, for which they wait the bound)."""
    request = make_request(
        start=TODAY, cooperation=(f"cli-noworker-{uuid.uuid4().hex[:8]}", "Zonder worker")
    )
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    handle = await start_trajectory(dev_env.client, queue, request)
    short = timedelta(seconds=2)
    try:
        with pytest.raises(NoWorker, match=f"no worker is running on task queue '{queue}'"):
            await trajectory_status(dev_env.client, handle.id, short)
        abort = AbortRequest(reason="test", aborted_by="test")
        with pytest.raises(NoWorker, match="the message was not delivered"):
            await send_update(dev_env.client, handle.id, "abort", abort, within=short)
    finally:
        await handle.terminate("test finished")


@pytest.mark.parametrize(
    "command",
    [
        ["start"], ["decide"], ["task"], ["task", "done"], ["amend"], ["join"],
        ["effective-date"], ["abort"], ["status"], ["list"], ["history"],
    ],
)  # fmt: skip
def test_help_has_an_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # argparse answers --help itself, before any handler, server or setting is touched.
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command, "--help"])
    assert exited.value.code == ExitCode.OK
    shown = capsys.readouterr().out
    assert "example" in shown
    assert f"starter.py {' '.join(command)}" in shown


# --- other clients: the `temporal` CLI ------------------------------------------------------


def party(status: dict[str, Any], step_id: str, authority_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        p for p in step(status, step_id)["parties"] if p["authority_id"] == authority_id
    )
    return found


async def test_decisions_through_the_temporal_cli(cli: Cli, codec_server: CodecServer) -> None:
    """docs/clients.md: an update and a signal with a plain JSON payload, sent by the
    `temporal` binary through the codec server, land in the trajectory like the starter's own."""
    coop = await cli.cooperation(CooperationKind.INFORMAL_OVERLEG)
    started = await cli(
        "start", coop, "--participants", "roeselare,izegem,tielt", "--effective-date", EFFECTIVE,
    )  # fmt: skip
    assert started.code == ExitCode.OK, started.stderr
    await cli.wait(coop, is_open("business-case"))
    await cli("task", "done", coop, "business-case", "--evidence", "doc://bc")
    status = await cli.wait(coop, is_open("board-principle"))
    workflow_id = f"inkanteling-{coop}"
    temporal = (
        str(temporal_cli()), "--address", cli.env["TEMPORAL_ADDRESS"],
        *codec_server.cli_options(), "workflow",
    )  # fmt: skip

    board = {
        "authority_id": "dvv-midwest-rvb",
        "outcome": "approve",
        "session_date": status["today"],
        "reference": "RvB-2026-12",
        "step_id": "board-principle",
        "recorded_by": "Secretariaat (temporal CLI)",
    }
    updated = await run_process(
        *temporal, "update", "execute", "--workflow-id", workflow_id, "--name", "decide",
        "--input", json.dumps(board), env={},
    )  # fmt: skip
    assert updated.code == 0, updated.stderr
    assert "decision of dvv-midwest-rvb on board-principle recorded" in updated.stdout

    status = await cli.wait(coop, is_open("partners-round"))
    council = {
        "authority_id": "izegem",
        "outcome": "approve",
        "session_date": status["today"],
        "reference": "https://izegem.be/besluit/42",
        "step_id": "partners-round",
        "votes_for": 21,
        "votes_against": 4,
        "recorded_by": "Secretariaat (temporal CLI)",
    }
    refused_update, signalled = await in_turn(
        run_process(
            *temporal, "update", "execute", "--workflow-id", workflow_id, "--name", "decide",
            "--input", json.dumps({**council, "authority_id": "provincie-west-vlaanderen"}),
            env={},
        ),
        run_process(
            *temporal, "signal", "--workflow-id", workflow_id, "--name", "decide_signal",
            "--input", json.dumps(council), env={},
        ),
    )  # fmt: skip
    assert refused_update.code != 0
    assert (
        "authority 'provincie-west-vlaanderen' is not a party to this trajectory"
        in refused_update.stderr
    )
    assert signalled.code == 0, signalled.stderr

    landed = await cli.wait(coop, lambda s: party(s, "partners-round", "izegem")["outcome"])
    decision = party(landed, "partners-round", "izegem")["decision"]
    assert (decision["outcome"], decision["votes_for"], decision["reference"]) == (
        "approve",
        21,
        "https://izegem.be/besluit/42",
    )
    assert party(landed, "board-principle", "dvv-midwest-rvb")["outcome"] == "approve"


# --- the whole trajectory, with the command line alone -----------------------------------------

# The trajectory's calendar runs 2,000,000 times faster than real time: a day passes in 43 ms,
# the 90-day statute period in 4 s. The general assembly is planned far enough ahead that the
# councils can decide in time on an ordinary machine, and the driver below also handles what a
# slow one causes (a round closed by its deadline, an effective date already passed) the way a
# coordinator would: with `amend` and `effective-date`.
SPEED = 2_000_000
DAYS_PER_SECOND = SPEED / 86_400
WHOLE_AV = TODAY + timedelta(days=300)
WHOLE_EFFECTIVE = WHOLE_AV + timedelta(days=45)
WHOLE_WITHIN = 240.0


def next_commands(
    coop: str, status: dict[str, Any], *, one_command: int, one_round: int
) -> list[tuple[str, ...]]:
    """What a coordinator does next, given the status: complete every open task, record
    every pending decision as an approval, and answer the two questions the workflow asks.
    `one_command` and `one_round` are calendar days that a command and a round of commands
    take on this machine: a date given must still lie ahead when it is needed."""
    # The calendar's date now: the status's `today` is as of the workflow's last step.
    today = TrajectoryStatus.model_validate(status).calendar_today(datetime.now(UTC))
    commands: list[tuple[str, ...]] = []
    if status["phase"] == "awaiting-effective-date":
        effective = today + timedelta(days=one_command)
        commands.append(("effective-date", coop, str(effective), "--reason", "na de goedkeuring"))
    if status["phase"] == "renegotiation":
        # The councils decide again before the new general assembly.
        av = today + timedelta(days=one_round)
        commands.append(
            ("amend", coop, "--reason", "nieuwe ronde", "--av-date", str(av),
             "--effective-date", str(av + timedelta(days=45)))
        )  # fmt: skip
    for s in status["steps"]:
        if s["status"] != "open":
            continue
        if s["kind"] == "task":
            commands.append(("task", "done", coop, s["id"], "--evidence", f"doc://{s['id']}"))
        for p in s["parties"]:
            if p["outcome"] is None:
                command: tuple[str, ...] = (
                    "decide", coop, p["authority_id"], "approve", "--step", s["id"],
                    "--reference", f"https://{p['authority_id']}.example/besluit/{s['id']}",
                )  # fmt: skip
                if p["authority_id"] == ASSEMBLY_BODY:  # the delegates' votes, all for
                    for member in status["members"] or status["participants"]:
                        command += ("--delegate", f"{member['authority_id']}=approve")
                commands.append(command)
    return commands


async def test_whole_projectvereniging_trajectory_with_the_cli_alone(cli: Cli) -> None:
    coop = await cli.cooperation(
        CooperationKind.PROJECTVERENIGING, members=("roeselare", "izegem", "tielt")
    )
    # No --participants: the register's members of the cooperation take part.
    started = await cli(
        "start", coop, "--av-date", WHOLE_AV, "--effective-date", WHOLE_EFFECTIVE,
        "--speed", str(SPEED),
    )  # fmt: skip
    assert started.code == ExitCode.OK, started.stderr

    loop = asyncio.get_running_loop()
    deadline = loop.time() + WHOLE_WITHIN
    slowest = 1.0  # seconds of the slowest command so far
    sent: list[tuple[str, ...]] = []
    repeat = (
        "decide", coop, "dvv-midwest-rvb", "approve", "--step", "board-principle",
        "--reference", "https://dvv-midwest-rvb.example/besluit/board-principle",
    )  # fmt: skip
    repeated = False
    while True:
        shown = await cli("status", coop, "--json")
        assert shown.code == ExitCode.OK, shown.stderr
        status = shown.json()
        if status["phase"] == "integrated":
            break
        assert loop.time() < deadline, f"not integrated within {WHOLE_WITHIN} s: {status}"
        # This machine's pace, from the slowest command seen so far.
        slowest = max(slowest, shown.seconds)
        commands = next_commands(
            coop,
            status,
            one_command=math.ceil(2 * shown.seconds * DAYS_PER_SECOND) + 5,
            one_round=math.ceil(3 * slowest * DAYS_PER_SECOND) + 10,
        )
        if step(status, "board-principle")["status"] == "done" and not repeated:
            commands.append(repeat)  # run again days later: the same decision, not a new one
        if not commands:  # timers, automatic steps or the journal are on their way
            await asyncio.sleep(POLL_INTERVAL)
            continue
        results = await in_turn(*(cli(*command) for command in commands))
        for command, result in zip(commands, results, strict=True):
            # A refusal can only be a race with the fast calendar (a round that closed while
            # the decision was on its way); the next status shows what to do about it.
            assert result.code in (ExitCode.OK, ExitCode.REFUSED), (command, result.stderr)
            if command is repeat:
                assert result.stdout.startswith("already recorded, nothing changed"), result
                repeated = True
        sent += commands
        slowest = max([slowest, *(r.seconds for r in results)])

    assert status["finished_on"] is not None
    assert {s["status"] for s in status["steps"]} == {"done"}
    assert {"task", "decide"} <= {command[0] for command in sent}
    assert repeated
    register, listed = await in_turn(
        cli("register", "show", coop, "--json"),
        cli("list", "--all", "--phase", "integrated", "--json"),
    )
    kinds: list[str] = []
    while "trajectory-integrated" not in kinds:  # the last journal batch may be on its way
        assert loop.time() < deadline, kinds
        history = await cli("history", coop, "--json")
        kinds = [event["kind"] for event in history.json()]
    assert kinds[0] == "trajectory-started"
    assert kinds.count("decision-recorded") >= 7  # 3 councils, board twice, old board, AV
    fiche = register.json()
    assert fiche["status"] == "integrated"
    # The register takes the calendar date of its last step, on or after the effective date.
    assert fiche["integrated_on"] >= status["effective_date"]
    assert f"inkanteling-{coop}" in {t["workflow_id"] for t in listed.json()}
