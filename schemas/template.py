"""Trajectory templates: one per kind of cooperation, kept as data and validated here.

A template is a graph of steps grouped in lanes. A step runs once every step it depends on is
done, so independent lanes run in parallel. The template is snapshotted into the workflow
input when a trajectory starts: editing a template file changes new trajectories only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import CooperationKind, Lane, RegisterId, ShortText, StepKind
from schemas.deadlines import DeadlineRule
from schemas.rules import DecisionRule

# A decision body that stands for the cooperation being moved (its board or assembly); the
# workflow resolves it to the cooperation's register id.
OLD_STRUCTURE = "old-structure"
# The general assembly of DVV Midwest: its decision is the one legal lead times count to.
ASSEMBLY_BODY = "dvv-midwest-av"


class Deciders(StrEnum):
    """Who decides in a decision round."""

    # Every member of DVV Midwest (the 16 municipalities and WVI): a statute or activity
    # change of the association, whoever takes part in the cooperation.
    MEMBERS = "members"
    # The cooperation's own participants, members of Midwest or not: their side of the move
    # (leaving or dissolving the old structure, their financial engagement).
    PARTICIPANTS = "participants"


class Phase(StrEnum):
    """Coarse stage of a trajectory, for people watching it (report, Web UI, search)."""

    PREPARATION = "preparation"
    CONSULTATION = "consultation"
    COUNCIL_ROUND = "council-round"
    GENERAL_ASSEMBLY = "general-assembly"
    PUBLICATION = "publication"
    TRANSFER = "transfer"
    # Phases the workflow enters by itself, never named by a step:
    RENEGOTIATION = "renegotiation"
    AWAITING_EFFECTIVE_DATE = "awaiting-effective-date"
    INTEGRATED = "integrated"
    ABORTED = "aborted"


STEP_PHASES = (
    Phase.PREPARATION,
    Phase.CONSULTATION,
    Phase.COUNCIL_ROUND,
    Phase.GENERAL_ASSEMBLY,
    Phase.PUBLICATION,
    Phase.TRANSFER,
)


class ActionName(StrEnum):
    """Side effects an automatic step can perform (implemented in activities/actions.py)."""

    OPEN_DOSSIER = "open-dossier"  # register: cooperation enters a trajectory
    DRAFT_DOCUMENT = "draft-document"
    NOTIFY_PARTIES = "notify-parties"
    TRANSFER_STAFF = "transfer-staff"
    TRANSFER_ASSETS = "transfer-assets"
    END_OLD_STRUCTURE = "end-old-structure"
    MARK_INTEGRATED = "mark-integrated"
    # Compensations, run in reverse order when a trajectory is aborted:
    WITHDRAW_DOCUMENT = "withdraw-document"
    RESTORE_REGISTER = "restore-register"


class Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ActionName
    document: ShortText | None = None  # for draft/withdraw: which document
    message: ShortText | None = None  # for notify-parties: the subject (Dutch)


class StepCondition(StrEnum):
    """When a step belongs to a trajectory: a step with a condition is left out of the
    snapshot at start when the request does not meet it (rules/template_fit.py)."""

    PROJECT_CALL = "project-call"  # the request applies to a project call
    STAFF = "staff"  # the request moves staff


class RejectionEffect(StrEnum):
    """What a decision's rejection does to the trajectory."""

    # The proposal must change (amend) or the trajectory stops (abort).
    RENEGOTIATE = "renegotiate"
    # Taken note of, and the trajectory goes on: an external party's answer the association
    # does not negotiate (a project call that is not granted).
    CONTINUE = "continue"


class WaitResume(StrEnum):
    START_OF_DAY = "start-of-day"  # continue on the computed date (e.g. the effective date)
    AFTER_DAY = "after-day"  # continue once the computed date has fully passed (a period)


class StepSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RegisterId
    title: ShortText  # Dutch, as people in the organisation name the step
    lane: Lane
    kind: StepKind
    phase: Phase
    depends_on: tuple[RegisterId, ...] = ()
    deadline: DeadlineRule | None = None  # due date of a task, decision or round
    role: ShortText | None = None  # task: who is expected to do it
    action: Action | None = None  # automatic
    compensation: Action | None = None  # run on abort if this step had completed
    body: RegisterId | None = None  # decision: the deciding authority, or "old-structure"
    deciders: Deciders | None = None  # decision round
    # decision round: how its parties' decisions combine; a single body's decision (the
    # general assembly): the rule its delegates' votes must meet for an approval to stand.
    rule: DecisionRule | None = None
    # task: the earliest day it can be done (a meeting after its convocation period).
    not_before: DeadlineRule | None = None
    wait_until: DeadlineRule | None = None  # wait
    resume: WaitResume = WaitResume.AFTER_DAY
    only_if: StepCondition | None = None  # None: every trajectory of the template has it
    on_rejection: RejectionEffect = RejectionEffect.RENEGOTIATE  # decisions only

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        problems: list[str] = []
        if self.kind is StepKind.AUTOMATIC and self.action is None:
            problems.append("an automatic step needs an action")
        if self.kind is StepKind.DECISION and self.body is None:
            problems.append("a decision needs a deciding body (body)")
        if self.kind is StepKind.DECISION_ROUND and (self.deciders is None or self.rule is None):
            problems.append("a decision round needs deciders and a rule")
        if self.not_before is not None and self.kind is not StepKind.TASK:
            problems.append("only a task has an earliest day (not_before)")
        if (
            self.on_rejection is not RejectionEffect.RENEGOTIATE
            and self.kind is not StepKind.DECISION
        ):
            problems.append("only a single body's decision can be taken note of (on_rejection)")
        if self.kind is StepKind.WAIT and self.wait_until is None:
            problems.append("a wait needs wait_until")
        if self.phase not in STEP_PHASES:
            problems.append(f"phase {self.phase.value!r} is set by the workflow, not by a step")
        if problems:
            raise ValueError(f"step {self.id!r}: " + "; ".join(problems))
        return self


class Template(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CooperationKind
    version: int = Field(ge=1)
    title: ShortText
    description: ShortText | None = None
    steps: tuple[StepSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _graph(self) -> Self:
        ids = [step.id for step in self.steps]
        seen: set[str] = set()
        for step_id in ids:
            if step_id in seen:
                raise ValueError(f"step {step_id!r} appears twice")
            seen.add(step_id)
        for step in self.steps:
            for dependency in step.depends_on:
                if dependency not in seen:
                    raise ValueError(f"step {step.id!r} depends on unknown step {dependency!r}")
            for rule in (step.deadline, step.wait_until, step.not_before):
                if rule is not None and rule.anchor.startswith("step:"):
                    anchor = rule.anchor.removeprefix("step:")
                    if anchor not in seen:
                        raise ValueError(
                            f"step {step.id!r} has a date anchored on unknown step {anchor!r}"
                        )
        cycle = _find_cycle({step.id: step.depends_on for step in self.steps})
        if cycle:
            raise ValueError(f"step {cycle[0]!r} depends on itself through " + " -> ".join(cycle))
        return self

    def needs_assembly_date(self) -> bool:
        """Whether a date of the template counts from the planned general assembly."""
        return any(
            rule is not None and rule.anchor == "planned-av-date"
            for step in self.steps
            for rule in (step.deadline, step.wait_until, step.not_before)
        )

    def performs(self, action: ActionName) -> bool:
        return any(s.action is not None and s.action.name is action for s in self.steps)

    def step(self, step_id: str) -> StepSpec:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def _find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str]:
    """Return one dependency cycle as a path of step ids, or [] when the graph is acyclic."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []
