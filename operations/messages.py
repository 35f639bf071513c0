"""Send a message to a running trajectory as a workflow update and get its answer.

The workflow's validators refuse what makes no sense (an authority that is not a party, a task
that is not open, a date in the past); their message reaches the caller unchanged as
`Refused`. A trajectory that has ended, one that does not exist and a stack without a worker
each get their own exception, so the command line can say what to do about it.
"""

from __future__ import annotations

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

from operations.queries import (
    CALL_TIMEOUT,
    TrajectoryClosed,
    bounded,
    describe,
    is_timeout,
    no_worker,
)
from schemas.trajectory import Ack

# The update handlers of workflows/trajectory.py; each is also a signal named <name>_signal.
UpdateName = Literal["decide", "complete_task", "amend", "join", "set_effective_date", "abort"]


M = TypeVar("M", bound=BaseModel)


def stamped(message: M) -> M:
    """`message` with `sent_at` set to now, unless it has one: the trajectory's calendar moves
    with the stamps of the messages it receives (see "The calendar" in docs/architecture.md)."""
    if "sent_at" not in type(message).model_fields or getattr(message, "sent_at", None):
        return message
    return message.model_copy(update={"sent_at": datetime.now(UTC)})


class Refused(RuntimeError):
    """The trajectory's validator refused the message; str() is its message, as it is."""


async def send_update(
    client: Client,
    workflow_id: str,
    name: UpdateName,
    message: BaseModel,
    *,
    within: timedelta = CALL_TIMEOUT,
) -> Ack:
    """Deliver `message` to the latest run and wait for the workflow's Ack."""
    described = await describe(client, workflow_id, within)
    if not described.running:
        raise described.closed_error()
    handle = described.handle
    try:
        ack: Ack = await bounded(
            handle.execute_update(name, stamped(message), result_type=Ack, rpc_timeout=within),
            within,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        # A validator's exception arrives as an ApplicationError carrying its message.
        text = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Refused(text) from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        # The server has admitted the update; a worker that starts later may still apply it.
        error = no_worker(workflow_id, described.task_queue, within)
        raise type(error)(
            f"{error}; the request may still be applied once a worker runs, "
            f"check with `starter.py status {workflow_id}`"
        ) from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            # The run ended between describe and update (the handle targets that run).
            raise TrajectoryClosed(
                f"the trajectory {workflow_id} ended before the message arrived ({exc.message}); "
                f"`starter.py status {workflow_id}` shows how it ended"
            ) from None
        if is_timeout(exc):
            raise no_worker(workflow_id, described.task_queue, within) from None
        raise
    return ack
