"""Send a message to a running trajectory as a workflow update and get its answer.

The workflow's validators refuse what makes no sense (an authority that is not a party, a task
that is not open, a date in the past); their message reaches the caller unchanged as
`Refused`. A trajectory that has ended, one that does not exist and a stack without a worker
each get their own exception, so the command line can say what to do about it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from log import get_logger
from operations.queries import (
    CALL_TIMEOUT,
    NoWorker,
    TrajectoryClosed,
    bounded,
    describe,
    is_failed_task,
    is_no_poller,
    is_timeout,
    no_worker,
    raise_if_cancelled,
    require_worker,
    stuck,
)
from schemas.trajectory import REFUSAL_TYPE, Ack, RefusalReason

_log = get_logger("operations.messages")

# The update handlers of workflows/trajectory.py; each is also a signal named <name>_signal.
UpdateName = Literal["decide", "complete_task", "amend", "join", "set_effective_date", "abort"]


M = TypeVar("M", bound=BaseModel)


def stamped(message: M) -> M:
    """`message` with `sent_at` set to now, unless it has one: the trajectory's calendar moves
    with the stamps of the messages it receives (see "The calendar" in docs/architecture.md)."""
    if "sent_at" not in type(message).model_fields or getattr(message, "sent_at", None):
        return message
    return message.model_copy(update={"sent_at": datetime.now(UTC)})


# How long to wait before sending an aborted update again: the server asks for a retry, and
# the workflow task that lost the update is being retried meanwhile.
ABORTED_RETRY_PAUSE = timedelta(seconds=0.5)


async def until_taken(send: Callable[[str], Awaitable[Ack]], within: timedelta) -> Ack:
    """`send(update_id)`, sent again with the same update id while the server answers
    UNAVAILABLE within `within`.

    The server aborts an update it has admitted but not yet handed to the workflow when it
    drops the workflow's update registry: a workflow task that timed out on a busy worker, a
    worker that restarted. It answers UNAVAILABLE, "retry" (temporalio/temporal,
    docs/architecture/workflow-update.md, "Aborting an Update"). The client's own retries
    stop after about ten seconds; a busy worker can take longer. The same id and the same
    message make every attempt the one update, and the trajectory recognises a message it
    already took in, so nothing is applied twice."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + within.total_seconds()
    update_id = str(uuid.uuid4())
    while True:
        try:
            return await send(update_id)
        except RPCError as exc:
            pause = ABORTED_RETRY_PAUSE.total_seconds()
            if exc.status is not RPCStatusCode.UNAVAILABLE or loop.time() + pause > give_up_at:
                raise
            _log.debug("update aborted by the server; sending it again", error=exc.message)
        await asyncio.sleep(pause)


class Refused(RuntimeError):
    """The trajectory's validator refused the message; str() is its message, as it is, and
    `reason` what a client may do about it."""

    def __init__(self, text: str, reason: RefusalReason = RefusalReason.INVALID) -> None:
        super().__init__(text)
        self.reason = reason


def refusal_reason(error: BaseException) -> RefusalReason | None:
    """Why the trajectory refused an update (None: `error` is no refusal of the trajectory's).
    The reason travels as the first detail of the refusal's ApplicationError."""
    if isinstance(error, Refused):
        return error.reason
    if not isinstance(error, WorkflowUpdateFailedError):
        return None
    cause = error.cause
    if not isinstance(cause, ApplicationError) or cause.type != REFUSAL_TYPE:
        return None
    first = cause.details[0] if cause.details else None
    known = {reason.value: reason for reason in RefusalReason}
    # A refusal from before reasons were carried has none: the message was invalid.
    return (
        known.get(first, RefusalReason.INVALID) if isinstance(first, str) else RefusalReason.INVALID
    )


async def send_update(
    client: Client,
    workflow_id: str,
    name: UpdateName,
    message: BaseModel,
    *,
    within: timedelta = CALL_TIMEOUT,
) -> Ack:
    """Deliver `message` to the latest run and wait for the workflow's Ack.

    A worker must accept the update. With none polling, nothing is sent (NoWorker says the
    message was not delivered); with one that does not answer in time, the server has admitted
    the update and a worker may still apply it (NoWorker says so). A workflow task that keeps
    failing refuses the update at once (TrajectoryStuck, not delivered)."""
    described = await describe(client, workflow_id, within)
    if not described.running:
        raise described.closed_error()
    try:
        await require_worker(client, described, within)
    except NoWorker as exc:
        raise exc.adding(NOT_DELIVERED) from None
    handle = described.handle
    # Says, with INKANTELING_LOG_LEVEL=debug, what the command waits for from here on.
    _log.debug("sending update", update=name, workflow_id=workflow_id, within=str(within))
    try:
        message = stamped(message)
        ack: Ack = await bounded(
            until_taken(
                lambda update_id: handle.execute_update(
                    name, message, id=update_id, result_type=Ack, rpc_timeout=within
                ),
                within,
            ),
            within,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        # A validator's exception arrives as an ApplicationError carrying its message.
        text = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Refused(text, refusal_reason(exc) or RefusalReason.INVALID) from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        raise_if_cancelled()
        raise no_worker(workflow_id, described.task_queue, within).adding(
            admitted(workflow_id)
        ) from None
    except RPCError as exc:
        raise_if_cancelled()
        if exc.status is RPCStatusCode.NOT_FOUND:
            # The run ended between describe and update (the handle targets that run).
            raise TrajectoryClosed(
                f"the trajectory {workflow_id} ended before the message arrived ({exc.message}); "
                f"`starter.py status {workflow_id}` shows how it ended"
            ) from None
        if is_failed_task(exc):
            trouble = await stuck(client, described, within)
            raise trouble.adding(NOT_DELIVERED) from None
        if is_timeout(exc) or is_no_poller(exc):
            raise no_worker(workflow_id, described.task_queue, within).adding(
                admitted(workflow_id)
            ) from None
        if exc.status is RPCStatusCode.UNAVAILABLE and await temporal_answers(client, workflow_id):
            # Temporal answers another call, so the UNAVAILABLE was its answer to the update:
            # aborted on every attempt until_taken made (a lost connection says the same
            # code, and the command line's advice for it would send the coordinator astray).
            raise kept_aborted(workflow_id, within) from None
        raise
    return ack


# How long the check that Temporal still answers may take, after an update came back
# UNAVAILABLE until its bound.
REACH_TIMEOUT = timedelta(seconds=5)


async def temporal_answers(client: Client, workflow_id: str) -> bool:
    """Whether Temporal answers a call about the trajectory now, whatever it answers: a
    description, or that there is no such workflow."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        await bounded(handle.describe(rpc_timeout=REACH_TIMEOUT), REACH_TIMEOUT)
    except TimeoutError:
        return False
    except RPCError as exc:
        return exc.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    return True


def kept_aborted(workflow_id: str, within: timedelta) -> NoWorker:
    """An update Temporal aborted each time it was sent, while it answers other calls."""
    return NoWorker(
        f"Temporal aborted the message each time it was sent, for {within.total_seconds():g} "
        f"s, while it answers other calls: the worker of {workflow_id} does not complete the "
        "trajectory's workflow tasks in time (it is overloaded, or restarting); try again in "
        "a minute, and if it keeps happening, look at the worker's log"
    ).adding(admitted(workflow_id))


NOT_DELIVERED = "the message was not delivered"


def admitted(workflow_id: str) -> str:
    """What an update that Temporal admitted but no worker accepted means for the sender."""
    return (
        "the message reached Temporal but no worker accepted it: it may still be applied once "
        f"a worker runs, so check with `starter.py status {workflow_id}` or "
        f"`starter.py history {workflow_id}` before sending it again"
    )
