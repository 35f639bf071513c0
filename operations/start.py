"""Start a trajectory: snapshot the template into the input, one live run per cooperation."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from operations.requests import InvalidRequest, TrajectoryExists
from rules.template_fit import applicable, fit_problems
from schemas.template import Template
from schemas.trajectory import TrajectoryInput, TrajectoryRequest, TrajectoryStatus, workflow_id_for
from templates.loader import load_template
from workflows import search_attributes as sa
from workflows.trajectory import InkantelingTrajectory


async def start_trajectory(
    client: Client,
    task_queue: str,
    request: TrajectoryRequest,
    template: Template | None = None,
) -> WorkflowHandle[InkantelingTrajectory, TrajectoryStatus]:
    # The template as it applies to this request: steps whose condition it does not meet
    # (a project call it does not apply to, staff it has not) are left out.
    snapshot = applicable(template or load_template(request.kind), request)
    # Whoever starts it (the command line has said so already, with the options' names):
    # staff, assets or merged cooperations the route cannot carry are never dropped silently.
    problems = fit_problems(snapshot, request)
    if problems:
        raise InvalidRequest(problems)
    workflow_id = workflow_id_for(request.cooperation_id)
    try:
        return await client.start_workflow(
            InkantelingTrajectory.run,
            TrajectoryInput(request=request, template=snapshot),
            id=workflow_id,
            task_queue=task_queue,
            # A finished or aborted trajectory may be followed by a new one; a live one not.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.COOPERATION_ID, request.cooperation_id),
                    SearchAttributePair(sa.COOPERATION_KIND, request.kind.value),
                ]
            ),
            static_summary=f"Inkanteling {request.cooperation_name} ({request.kind.value})",
        )
    except WorkflowAlreadyStartedError:
        raise TrajectoryExists(
            f"a trajectory for {request.cooperation_id!r} is already running ({workflow_id}); "
            "finish or abort it before starting another"
        ) from None
