"""Can a trajectory started today meet its template's legal lead times before the planned
general assembly? Pure date arithmetic on the template and the deadline catalogue.

Every step is taken to be done as early as it can be: the day its dependencies are done
(today for the first ones), a wait on the day its period ends, a task with an earliest day
on that day. A lead time counted back from the assembly (the board's statute text 90 days
before it, the WVV filing 6 weeks before it, ...) is broken when that earliest day comes
after the latest day the lead time allows; a legal period the assembly waits for (the 90
days after the board's text) is broken when it ends after the assembly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from rules.deadlines import concrete_rule, deadline_for
from schemas.common import StepKind
from schemas.deadlines import DeadlineCatalogue, DeadlineRule, LeadTime
from schemas.template import ASSEMBLY_BODY, StepSpec, Template

# How far ahead the earliest feasible assembly is looked for: beyond this a request is
# refused without a date (every lead time of the catalogue is far shorter).
_SEARCH_DAYS = 5 * 366


@dataclass(frozen=True)
class LeadTimeBreach:
    step_id: str
    title: str
    lead_time: LeadTime
    limit: date  # the latest day the lead time allows (or, for a period, the assembly)
    earliest: date  # the earliest day the step can be done (or the period end)
    period: bool  # a period the assembly waits for, rather than a step due before it

    def describe(self, catalogue: DeadlineCatalogue) -> str:
        amount, unit = catalogue.period(self.lead_time)
        rule = f"{self.lead_time.value}, {amount} {unit.value.replace('-', ' ')}"
        if self.period:
            return (
                f"{self.step_id} ({rule}): the period ends on {self.earliest} at the earliest, "
                f"after the general assembly on {self.limit}"
            )
        return (
            f"{self.step_id} ({rule} before the general assembly): due on {self.limit}, but "
            f"it cannot be done before {self.earliest}"
        )


def _assembly_steps(template: Template) -> list[StepSpec]:
    return [s for s in template.steps if s.kind is StepKind.DECISION and s.body == ASSEMBLY_BODY]


def _needed_by(template: Template, targets: list[StepSpec]) -> set[str]:
    """Ids of every step the targets depend on, transitively."""
    needed: set[str] = set()
    todo = [d for t in targets for d in t.depends_on]
    while todo:
        step_id = todo.pop()
        if step_id not in needed:
            needed.add(step_id)
            todo.extend(template.step(step_id).depends_on)
    return needed


def earliest_days(
    template: Template, catalogue: DeadlineCatalogue, today: date, planned_av: date
) -> dict[str, date]:
    """The earliest day each step can be done, everything done as soon as it can be."""
    earliest: dict[str, date] = {}

    def anchored(rule: DeadlineRule) -> date | None:
        concrete = concrete_rule(rule, catalogue)
        if rule.step_id is not None:
            return deadline_for(concrete, visit(template.step(rule.step_id)))
        if rule.anchor == "planned-av-date":
            return deadline_for(concrete, planned_av)
        if rule.anchor == "start":
            return deadline_for(concrete, today)
        return None  # the effective date: a plan, not a lead time

    def visit(step: StepSpec) -> date:
        if step.id not in earliest:
            day = max((visit(template.step(d)) for d in step.depends_on), default=today)
            extra = step.wait_until if step.kind is StepKind.WAIT else step.not_before
            if extra is not None and (bound := anchored(extra)) is not None:
                day = max(day, bound)
            earliest[step.id] = day
        return earliest[step.id]

    for step in template.steps:
        visit(step)
    return earliest


def lead_time_breaches(
    template: Template, catalogue: DeadlineCatalogue, today: date, planned_av: date
) -> list[LeadTimeBreach]:
    """The lead times an assembly on `planned_av` breaks for a trajectory started today."""
    earliest = earliest_days(template, catalogue, today, planned_av)
    waited_for = _needed_by(template, _assembly_steps(template))
    breaches: list[LeadTimeBreach] = []
    for step in template.steps:
        rule = step.deadline
        if rule is not None and rule.lead_time is not None and rule.anchor == "planned-av-date":
            due = deadline_for(concrete_rule(rule, catalogue), planned_av)
            if earliest[step.id] > due:
                breaches.append(
                    LeadTimeBreach(
                        step.id, step.title, rule.lead_time, due, earliest[step.id], False
                    )
                )
        period = step.wait_until
        if (
            step.kind is StepKind.WAIT
            and period is not None
            and period.lead_time is not None
            and step.id in waited_for
            and earliest[step.id] > planned_av
        ):
            breaches.append(
                LeadTimeBreach(
                    step.id, step.title, period.lead_time, planned_av, earliest[step.id], True
                )
            )
    return breaches


def earliest_assembly(template: Template, catalogue: DeadlineCatalogue, today: date) -> date | None:
    """The first day after today on which an assembly breaks no lead time (None when none
    lies within five years)."""
    day = today + timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if not lead_time_breaches(template, catalogue, today, day):
            return day
        day += timedelta(days=1)
    return None
