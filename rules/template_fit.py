"""Does a request fit its template? And the template as it applies to one request.

Pure: used by `start` on the command line (to refuse with reasons before anything is sent) and
by the start operation (the snapshot handed to the workflow is the applicable template).
"""

from __future__ import annotations

from schemas.common import CooperationKind
from schemas.template import ActionName, StepCondition, StepSpec, Template
from schemas.trajectory import TrajectoryRequest


def _meets(condition: StepCondition, request: TrajectoryRequest) -> bool:
    match condition:
        case StepCondition.PROJECT_CALL:
            return request.project_call
        case StepCondition.STAFF:
            return bool(request.staff)


def applicable(template: Template, request: TrajectoryRequest) -> Template:
    """The template without the steps whose condition the request does not meet. A step that
    depended on a left-out step depends on what that one depended on, so the order holds."""
    left_out = {
        s.id: s for s in template.steps if s.only_if is not None and not _meets(s.only_if, request)
    }
    if not left_out:
        return template

    def inherited(step_id: str) -> tuple[str, ...]:
        if step_id not in left_out:
            return (step_id,)
        return tuple(d for dep in left_out[step_id].depends_on for d in inherited(dep))

    def kept(step: StepSpec) -> StepSpec:
        deps = tuple(dict.fromkeys(d for dep in step.depends_on for d in inherited(dep)))
        return step.model_copy(update={"depends_on": deps})

    return template.model_copy(
        update={"steps": tuple(kept(s) for s in template.steps if s.id not in left_out)}
    )


def fit_problems(template: Template, request: TrajectoryRequest) -> list[tuple[str, str]]:
    """What in the request its (applicable) template cannot carry out, field by field: given
    staff, assets or merged cooperations are never dropped silently."""
    problems: list[tuple[str, str]] = []
    title = template.title
    if template.needs_assembly_date() and request.planned_av_date is None:
        problems.append(("planned_av_date", "the date of the general assembly is required"))
    if not template.needs_assembly_date() and request.planned_av_date is not None:
        problems.append(
            (
                "planned_av_date",
                f"{title}: this route has no general assembly; leave its date out",
            )
        )
    if request.staff and not template.performs(ActionName.TRANSFER_STAFF):
        problems.append(
            (
                "staff",
                f"{title}: this route moves no staff; a cooperation with staff of its own "
                "needs another kind (shared service, regional role, projectvereniging)",
            )
        )
    if request.assets and not template.performs(ActionName.TRANSFER_ASSETS):
        problems.append(
            (
                "assets",
                f"{title}: this route moves no assets, contracts or subsidies; record them "
                "with the kind of cooperation that owns them",
            )
        )
    if request.merged and not template.performs(ActionName.END_OLD_STRUCTURE):
        problems.append(
            ("merged", f"{title}: this route ends no old structure, so none can be merged in")
        )
    if request.kind is CooperationKind.SHARED_SERVICE and request.host is None:
        problems.append(
            (
                "host",
                "name the trekkende gemeente that hosts the shared service (--host, or the "
                "register's host of the cooperation)",
            )
        )
    if request.project_call and not any(
        s.only_if is StepCondition.PROJECT_CALL for s in template.steps
    ):
        problems.append(("project_call", f"{title}: this route has no project call"))
    return problems
