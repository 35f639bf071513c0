"""Logs: one event per line with the Temporal context as fields, silent on replay, and no
secret in any line (log.py, docs/operations.md)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from temporalio import activity, workflow
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer

from db.connect import DatabaseUnavailable, connect
from log import add_secret, configure_logging, get_logger
from schemas.common import CooperationKind
from settings import Settings
from stack.ports import free_port
from tests.record_histories import HISTORY_DIR, load_history
from tests.support.codec import TESTS_KEYRING_FILE, converter_for_tests
from tests.support.faults import ROOT, Trajectories, eventually
from tests.support.tls import Certificates, TLSRelay, WorkersWithSettings, make_certificates
from workflows.registry import WORKFLOWS

WORKER_NAME = "inkanteling-worker"
# A short history that logs: a trajectory's every record is a line of workflow.logger.
HISTORY = HISTORY_DIR / "template-informal-overleg.json"


def json_lines(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a warning a library printed itself, not a log line
        if isinstance(event, dict):
            events.append(event)
    return events


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The project's logging, JSON into a buffer; everything it changed restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    flags = (
        workflow.logger.workflow_info_on_message,
        workflow.logger.log_during_replay,
        activity.logger.activity_info_on_message,
    )
    buffer = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="info"), stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level, config = saved
        root.setLevel(level)
        structlog.configure(**config)
        (
            workflow.logger.workflow_info_on_message,
            workflow.logger.log_during_replay,
            activity.logger.activity_info_on_message,
        ) = flags


async def replay(path: Path) -> None:
    history = await load_history(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    result = await Replayer(
        workflows=WORKFLOWS, data_converter=converter_for_tests()
    ).replay_workflow(history)
    assert result.replay_failure is None


async def test_a_replayed_history_logs_nothing_from_the_workflow(captured: io.StringIO) -> None:
    await replay(HISTORY)
    from_workflow = [
        e for e in json_lines(captured.getvalue()) if e["logger"] == "temporalio.workflow"
    ]
    assert from_workflow == []

    # The same replay with the SDK told to log during replay: the workflow does log, so the
    # silence above is the replay's, and each line carries the run as fields.
    workflow.logger.log_during_replay = True
    await replay(HISTORY)
    from_workflow = [
        e for e in json_lines(captured.getvalue()) if e["logger"] == "temporalio.workflow"
    ]
    assert from_workflow, "the workflow logs its records"
    for event in from_workflow:
        assert event["workflow_id"].startswith("inkanteling-")
        assert event["run_id"] and event["workflow_type"] == "InkantelingTrajectory"
        assert "({" not in event["event"], "context appended to the message"


async def test_an_activity_line_carries_its_context_as_fields(captured: io.StringIO) -> None:
    """Through the SDK's `activity.logger` and through a structlog logger alike."""

    @activity.defn(name="noting")
    async def noting() -> None:
        activity.logger.info("noted by the SDK's logger", extra={"step_id": "legal-scan"})
        get_logger("activities.test").info("noted by structlog", step_id="legal-scan")

    info = ActivityEnvironment.default_info()
    await ActivityEnvironment().run(noting)
    lines = [e for e in json_lines(captured.getvalue()) if e["event"].startswith("noted by")]
    assert [e["event"] for e in lines] == ["noted by the SDK's logger", "noted by structlog"]
    for event in lines:
        assert event["workflow_id"] == info.workflow_id
        assert event["run_id"] == info.workflow_run_id
        assert event["activity"] == info.activity_type and event["attempt"] == info.attempt
        assert event["step_id"] == "legal-scan"


def test_secrets_are_masked_in_every_field_and_traceback(captured: io.StringIO) -> None:
    add_secret("codec-token-0123456789")
    key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----"
    log = get_logger("test")
    log.info(
        "connecting to postgresql://app:hunter2-secret@db:5432/x?sslpassword=phrase-secret",
        header="Bearer codec-token-0123456789",
        material=key,
        nested={"urls": ["postgres://u:nested-secret@h/d"]},
    )
    try:
        raise RuntimeError(f"failed with {key} and codec-token-0123456789")
    except RuntimeError:
        logging.getLogger("stdlib").exception("stdlib failure at postgresql://u:std-secret@h/d")
    text = captured.getvalue()
    for secret in (
        "hunter2-secret",
        "phrase-secret",
        "codec-token-0123456789",
        "MIGHAgEAMBMGByqGSM49",
        "nested-secret",
        "std-secret",
    ):
        assert secret not in text
    assert "postgresql://app:***@db:5432/x?sslpassword=***" in text
    assert "<private key>" in text and "Bearer ***" in text


# --- a worker and a command, with secrets in their settings ----------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("log-certs"), client_name=WORKER_NAME)


@pytest.fixture(scope="module")
def tls_front(dev_env: WorkflowEnvironment, certs: Certificates) -> Iterator[TLSRelay]:
    host, port = dev_env.client.service_client.config.target_host.rsplit(":", 1)
    relay = TLSRelay((host, int(port)), certs.server, certs.ca)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


def secrets_of(password: str, *files: Path) -> list[str]:
    """The password, every line of a PEM key's body, every key of the codec's ring."""
    found = [password]
    for path in files:
        text = path.read_text()
        if path.suffix == ".json":
            found += list(json.loads(text)["keys"].values())
        else:
            found += [line for line in text.splitlines() if line and "-----" not in line]
    return found


async def test_no_secret_in_any_line_of_a_worker_or_a_command(
    dev_env: WorkflowEnvironment,
    database_url: str,
    tls_front: TLSRelay,
    certs: Certificates,
    tmp_path: Path,
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    # The server trusts local connections, so the password is carried but never asked for:
    # what is tested is that it appears nowhere.
    with_password = database_url.replace("postgres@", f"postgres:{password}@", 1)
    assert password in with_password
    task_queue = f"logs-{uuid.uuid4().hex[:8]}"
    settings = {
        "TEMPORAL_ADDRESS": tls_front.address,
        "TEMPORAL_TLS_CA_FILE": str(certs.ca),
        "TEMPORAL_TLS_CERT_FILE": str(certs.client.cert),
        "TEMPORAL_TLS_KEY_FILE": str(certs.client.key),
        "TEMPORAL_TLS_SERVER_NAME": "localhost",
        "DATABASE_URL": with_password,
        "INKANTELING_CODEC_KEY_FILE": str(TESTS_KEYRING_FILE),
        "INKANTELING_METRICS_PORT": str(free_port()),
        "INKANTELING_LOG_LEVEL": "debug",
        "INKANTELING_LOG_FORMAT": "json",
        "INKANTELING_TASK_QUEUE": task_queue,
    }
    workers = WorkersWithSettings(
        client=dev_env.client,
        temporal_address=tls_front.address,
        database_url=with_password,
        task_queue=task_queue,
        log_dir=tmp_path,
        settings=settings,
    )
    trajectories = Trajectories(dev_env.client, database_url, task_queue)
    cooperation = trajectories.cooperation("logs")
    await trajectories.register(cooperation, CooperationKind.PROJECTVERENIGING)
    today = date.today()
    command = [
        sys.executable,
        "starter.py",
        "--debug",
        "start",
        cooperation[0],
        "--participants",
        "roeselare,izegem,tielt",
        "--av-date",
        (today + timedelta(days=180)).isoformat(),
        "--effective-date",
        (today + timedelta(days=240)).isoformat(),
    ]
    env = workers.environment()
    outputs: list[str] = []
    try:
        # The worker and the command start side by side (`start` does not need a worker);
        # the trajectory then waits for the worker, over TLS.
        worker = workers.launch()
        started = await asyncio.to_thread(
            subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        outputs += [started.stdout, started.stderr]
        assert started.returncode == 0, started.stderr
        workflow_id = f"inkanteling-{cooperation[0]}"

        async def persisted() -> list[dict[str, Any]] | None:
            assert worker.alive(), worker.log_tail()
            lines = [
                event
                for event in json_lines(worker.log.read_text(errors="replace"))
                if event.get("event") == "journal persisted"
                and event.get("workflow_id") == workflow_id
            ]
            return lines or None  # `eventually` waits on None: an empty list is not there yet

        journal = await eventually(persisted, within=30, what="the worker persists the journal")
        # What a command prints when the database is away (`starter.py` prints this message
        # as it is, exit code 6): the URL, without its password.
        unreachable = f"postgresql://postgres:{password}@127.0.0.1:{free_port()}/inkanteling"
        with pytest.raises(DatabaseUnavailable) as away:
            await connect(unreachable, connect_timeout=5)
        outputs.append(str(away.value))
        assert "postgres:***@" in str(away.value)
    finally:
        handle = dev_env.client.get_workflow_handle(f"inkanteling-{cooperation[0]}")
        trajectories.handles.append(handle)
        await trajectories.terminate_leftovers()
        workers.stop_all()
    outputs.append(worker.log.read_text(errors="replace"))

    # The activity's context as fields of the event, not in its message.
    line = journal[0]
    assert line["activity"] == "persist_journal" and isinstance(line["attempt"], int)
    assert line["run_id"] and line["activity_id"] and line["task_queue"] == task_queue
    assert line["level"] == "info" and line["logger"] == "temporalio.activity"
    # Over TLS, with the client certificate: the front saw it.
    assert WORKER_NAME in tls_front.client_names

    secrets = secrets_of(password, certs.client.key, TESTS_KEYRING_FILE)
    for output in outputs:
        for secret in secrets:
            assert secret not in output, "a secret appears in a log line or message"
