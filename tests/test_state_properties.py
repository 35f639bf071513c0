"""Property-based test of `TrajectoryState` on its own: random message sequences against the
real templates, with the calendar moving and rounds closing as the workflow drives them.

After every message and every move of the workflow the invariants below are checked. The
driver (tests/support/state_strategies.py) plays the workflow's part; the test keeps its own
record of what was accepted (`Shadow`), so verdicts and pending parties are recomputed from
the test's knowledge, not read back from the state's own bookkeeping.

The audit journal's numbering and batching (no gaps, each record persisted once, in order)
has a property test of its own, tests/test_journal.py; what the workflow records for refusals
and repeats is checked against real runs (tests/test_trajectory_updates.py).
"""

from __future__ import annotations

import os
from enum import StrEnum

from hypothesis import HealthCheck, example, given, settings

from rules.voting import RoundVerdict, evaluate
from schemas.common import CooperationKind, Outcome, StepKind
from schemas.rules import DecisionRule, PartyVote, Unanimity
from schemas.trajectory import DecisionInput, StepStatus
from tests.support.state_strategies import (
    Advance,
    Amend,
    Checked,
    Decide,
    Driver,
    Expect,
    Intent,
    Join,
    Planned,
    PlayEveryone,
    Resend,
    Settle,
    Setup,
    Who,
    final,
    sequences,
    setups,
    snapshot,
    start,
)
from workflows.state import FINAL_OUTCOMES, MessageRejected, StepState

# A fixed number of examples, the same ones on every run (a CI failure reproduces locally);
# no example database in the checkout. STATE_PROPERTIES_SEARCH=1 searches afresh, longer.
settings.register_profile(
    "state-properties",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "state-properties-search",
    parent=settings.get_profile("state-properties"),
    max_examples=2000,
    derandomize=False,
)
PROFILE = settings.get_profile(
    "state-properties-search"
    if os.environ.get("STATE_PROPERTIES_SEARCH") == "1"
    else "state-properties"
)


class Check(StrEnum):
    PURE_CHECKS = "check_* changes nothing, refused or not"
    EXPECTATIONS = "obviously bad messages are refused, exact repeats of tasks are no-ops"
    VERDICTS = "a settled verdict follows the step's rule"
    DEPENDENCIES = "no step opens or is done before its dependencies"
    REPEATS = "the same decision again is a no-op; a different one for a final party refused"
    PENDING = "pending authorities are the parties without a final decision in open rounds"
    RECORDED = "each party's recorded outcome is the one last accepted for it"
    # Found wanting by this test and fixed in TrajectoryState (their examples stay below):
    RESEND = "a decision equal to a recorded one is a no-op"
    POSTPONE_REPEAT = "the same postponement again is a no-op"
    JOINER_DECIDES = "every participant is a party of every open round"


SOUND = frozenset(Check)


# --- one run -------------------------------------------------------------------------------


def play(setup: Setup, intents: list[Intent], checks: frozenset[Check]) -> Driver:
    driver = start(setup)
    for intent in intents:
        if isinstance(intent, Settle):
            after_settle(driver, driver.settle(activities=intent.activities), checks)
        elif isinstance(intent, Advance):
            for settled in driver.advance(intent.days):
                after_settle(driver, settled, checks)
        else:
            for planned in driver.plan(intent):
                deliver(driver, planned, checks, resent=isinstance(intent, Resend))
                invariants(driver, checks)
    if Check.PENDING in checks:
        # Once per run (step_views is costly): the status views tell the same.
        from_views = {
            p.authority_id
            for view in driver.state.step_views(driver.today)
            if view.status is StepStatus.OPEN
            and view.kind in (StepKind.DECISION, StepKind.DECISION_ROUND)
            for p in view.parties
            if not final(p.outcome)
        }
        assert sorted(from_views) == driver.state.pending_authorities()
    return driver


def _where(driver: Driver) -> str:
    return f" (today {driver.today}; trace: {'; '.join(driver.trace[-12:])})"


def deliver(driver: Driver, planned: Planned, checks: frozenset[Check], *, resent: bool) -> None:
    message = planned.message
    expect = planned.expect
    if (
        Check.RESEND in checks
        and resent
        and isinstance(message, DecisionInput)
        and driver.running()
        and expect is Expect.ANY
        and _recorded_equal(driver, message)
    ):
        expect = Expect.NO_OP
    before = snapshot(driver.state)
    try:
        checked = driver.check(message)
    except MessageRejected as refusal:
        if Check.PURE_CHECKS in checks:
            assert snapshot(driver.state) == before, f"refusal {refusal} changed the state"
        if Check.EXPECTATIONS in checks or Check.RESEND in checks:
            assert expect in (Expect.ANY, Expect.REFUSED), (
                f"{message!r} was refused ({refusal}), expected {expect.value} " + _where(driver)
            )
        return
    if Check.PURE_CHECKS in checks:
        assert snapshot(driver.state) == before, f"checking {message!r} changed the state"
    if Check.EXPECTATIONS in checks or Check.RESEND in checks:
        wanted = Expect.NO_OP if checked.no_op else Expect.ANY
        assert expect in (Expect.ANY, wanted), (
            f"{message!r} gave {'a no-op' if checked.no_op else 'an accepted change'}, expected "
            f"{expect.value} ({planned.why})" + _where(driver)
        )
    if checked.no_op:
        return
    driver.apply(checked)
    if isinstance(message, DecisionInput):
        probe_repeats(driver, checked, checks)


def _recorded_equal(driver: Driver, d: DecisionInput) -> bool:
    """Whether `d` equals a decision recorded now for its authority (in its named step)."""
    for step in driver.state.steps.values():
        if d.step_id is not None and d.step_id != step.spec.id:
            continue
        party = step.parties.get(d.authority_id)
        recorded = party.decision if party is not None else None
        if recorded is not None and recorded.same_content(
            d.model_copy(update={"step_id": step.spec.id})
        ):
            return True
    return False


def probe_repeats(driver: Driver, checked: Checked, checks: frozenset[Check]) -> None:
    """Right after a decision was recorded: the same message again is a no-op; a different
    decision by a party now final is refused; neither changes anything."""
    d, sent = checked.message, checked.sent
    assert isinstance(d, DecisionInput) and isinstance(sent, DecisionInput)
    assert checked.step is not None
    step_id = checked.step.spec.id
    probes: list[tuple[DecisionInput, Expect]] = []
    repeat_check = Check.POSTPONE_REPEAT if d.outcome is Outcome.POSTPONE else Check.REPEATS
    if repeat_check in checks:
        probes.append((sent, Expect.NO_OP))
        probes.append((d, Expect.NO_OP))
        probes.append((sent.model_copy(update={"recorded_by": "Iemand anders"}), Expect.NO_OP))
    if Check.REPEATS in checks and d.outcome in FINAL_OUTCOMES:
        for other in FINAL_OUTCOMES:
            if other is not d.outcome:
                probes.append((d.model_copy(update={"outcome": other}), Expect.REFUSED))
        probes.append(
            (d.model_copy(update={"reference": "https://elders.example/x"}), Expect.REFUSED)
        )
        probes.append(
            (d.model_copy(update={"step_id": step_id, "outcome": Outcome.POSTPONE}), Expect.REFUSED)
        )
    # One snapshot after all probes: a probe that changed the state leaves it changed.
    before = snapshot(driver.state)
    for probe, expect in probes:
        try:
            result = driver.check(probe)
        except MessageRejected as refusal:
            assert expect is Expect.REFUSED, (
                f"{probe!r} right after {d!r} was refused ({refusal}), expected a no-op"
                + _where(driver)
            )
        else:
            got = "a no-op" if result.no_op else "accepted"
            assert expect is Expect.NO_OP and result.no_op, (
                f"{probe!r} right after {d!r} was {got}, expected {expect.value}" + _where(driver)
            )
    assert snapshot(driver.state) == before, f"checking repeats of {d!r} changed the state"


def _votes(driver: Driver, step: StepState) -> list[PartyVote]:
    """The step's parties as the test knows them: the outcome last accepted (or counted at
    the close), the weight and kind from the request and the joins. A body deciding alone
    is no participant: one vote, not a municipality."""
    return [
        PartyVote(
            authority_id=authority_id,
            votes=driver.weights.get(authority_id, (1, False))[0],
            is_municipality=driver.weights.get(authority_id, (1, False))[1],
            outcome=outcome,
        )
        for authority_id, outcome in driver.shadow.outcomes[step.spec.id].items()
    ]


def _rule(step: StepState) -> DecisionRule:
    # A single body's decision passes only when it approves (workflows/state.py); the rule of
    # a body's step (the general assembly's) applies to its delegates' votes, on recording.
    if step.spec.kind is StepKind.DECISION_ROUND and step.spec.rule is not None:
        return step.spec.rule
    return Unanimity()


def expected_verdict(driver: Driver, step: StepState) -> RoundVerdict:
    """The verdict recomputed with rules/voting.py from what the test saw, the way the
    workflow asks for it (open first; closed if the round closed and it is still open)."""
    votes = _votes(driver, step)
    verdict = evaluate(_rule(step), votes, closed=False)
    return verdict if verdict.status != "open" else evaluate(_rule(step), votes, closed=True)


def after_settle(driver: Driver, settled: list[str], checks: frozenset[Check]) -> None:
    state = driver.state
    if Check.VERDICTS in checks:
        for step_id in settled:
            step = state.steps[step_id]
            verdict = expected_verdict(driver, step)
            assert step.verdict == "; ".join(verdict.reasons), (
                f"{step_id} settled with {step.verdict!r}, its rule gives {verdict.reasons}"
                + _where(driver)
            )
        if driver.running():
            for step in state.steps.values():
                if step.is_decision and step.status is StepStatus.OPEN:
                    # Once the workflow has run, no certain verdict is left unsettled, and no
                    # round is left open past the day its deadline closes it.
                    status = evaluate(_rule(step), _votes(driver, step), closed=False).status
                    assert status == "open", (
                        f"{step.spec.id} stays open with verdict {status}" + _where(driver)
                    )
                    closes = driver.round_closes_on(step)
                    assert closes is None or driver.today < closes, (
                        f"{step.spec.id} stays open after its close on {closes}" + _where(driver)
                    )
    invariants(driver, checks)


def invariants(driver: Driver, checks: frozenset[Check]) -> None:
    state = driver.state
    steps = state.steps
    if Check.DEPENDENCIES in checks:
        order = state.completion_order
        assert len(order) == len(set(order)), f"a step completed twice: {order}"
        done_like = {StepStatus.DONE, StepStatus.COMPENSATED}
        assert set(order) == {i for i, s in steps.items() if s.status in done_like}, order
        position = {step_id: n for n, step_id in enumerate(order)}
        for step in steps.values():
            if step.status is StepStatus.WAITING:
                continue
            for dep in step.spec.depends_on:
                before = steps[dep]
                assert before.status in done_like, (
                    f"{step.spec.id} is {step.status.value} while {dep} is {before.status.value}"
                )
                assert before.completed_on is not None and step.opened_on is not None
                assert before.completed_on <= step.opened_on, f"{step.spec.id} before {dep}"
                if step.spec.id in position:
                    assert position[dep] < position[step.spec.id], f"{step.spec.id}, {dep}"
    if Check.VERDICTS in checks:
        for step in steps.values():
            if step.is_decision and step.status in (StepStatus.DONE, StepStatus.REJECTED):
                wanted = "approved" if step.status is StepStatus.DONE else "rejected"
                verdict = expected_verdict(driver, step)
                assert verdict.status == wanted, (
                    f"{step.spec.id} is {step.status.value} but its rule says {verdict.status}: "
                    f"{verdict.reasons}" + _where(driver)
                )
                # The reasons are those of the moment it settled (after_settle checks them
                # then); a newcomer may join a rejected round later and change the count.
                if step.status is StepStatus.DONE:
                    assert step.verdict == "; ".join(verdict.reasons), step.spec.id
    open_decisions = [s for s in steps.values() if s.is_decision and s.status is StepStatus.OPEN]
    if Check.PENDING in checks:
        expected = sorted(
            {
                pid
                for s in open_decisions
                for pid, outcome in driver.shadow.outcomes[s.spec.id].items()
                if not final(outcome)
            }
        )
        assert state.pending_authorities() == expected, (
            f"pending {state.pending_authorities()}, expected {expected}" + _where(driver)
        )
    if Check.RECORDED in checks:
        for step_id, outcomes in driver.shadow.outcomes.items():
            parties = steps[step_id].parties
            assert list(parties) == list(outcomes), (
                f"parties of {step_id}: {list(parties)}, expected {list(outcomes)}" + _where(driver)
            )
            for pid, outcome in outcomes.items():
                assert parties[pid].outcome == outcome, (
                    f"{pid} in {step_id} has {parties[pid].outcome}, expected {outcome}"
                    + _where(driver)
                )
    if Check.JOINER_DECIDES in checks:
        everyone = set(state.participant_ids())
        for step in open_decisions:
            if step.spec.kind is StepKind.DECISION_ROUND:
                missing = everyone - set(step.parties)
                assert not missing, (
                    f"{sorted(missing)} take part but have no decision in the open round "
                    f"{step.spec.id}" + _where(driver)
                )


# --- the tests -----------------------------------------------------------------------------

PV = CooperationKind.PROJECTVERENIGING
# Room after the assembly for the WVV route at the driver's pace of 20 days per pass.
THREE = Setup(PV, (("roeselare", 1), ("izegem", 1), ("tielt", 1)), 0, 180, 120)


@PROFILE
@given(setup=setups(), intents=sequences())
def test_random_message_sequences_keep_the_invariants(setup: Setup, intents: list[Intent]) -> None:
    play(setup, intents, SOUND)


def test_a_plain_run_reaches_the_end() -> None:
    """The driver itself: everyone approving and the calendar moving integrates the
    trajectory, so the random sequences can reach every phase."""
    intents: list[Intent] = []
    for _ in range(40):
        intents += [Settle(), PlayEveryone(), Settle(), Advance(days=20)]
    driver = play(THREE, intents, SOUND)
    assert driver.state.finished_on is not None and not driver.state.aborted
    assert driver.state.all_done()


# --- defects the search found (workflows/ is being reshaped; these wait for the fix) --------


def _to_open(passes: int) -> list[Intent]:
    """Everyone answers, `passes` times: each pass opens and finishes the next layer of steps
    (all on the start day, as nothing waits for the calendar yet)."""
    return [Settle(), *[intent for _ in range(passes) for intent in (PlayEveryone(), Settle())]]


# The board (dvv-midwest-rvb) approves board-principle with a message naming no step; once
# board-statute-text opens, the same message again (a retry, the same Besluit reference)
# is recorded as the board's approval of board-statute-text, which then passes.
RESEND_EXAMPLE = [*_to_open(5), Resend(index=0)]


@PROFILE
@given(setup=setups(), intents=sequences())
@example(setup=THREE, intents=RESEND_EXAMPLE)
def test_a_retried_decision_is_a_no_op(setup: Setup, intents: list[Intent]) -> None:
    play(setup, intents, SOUND | {Check.RESEND})


# The board postpones board-principle; the same postponement again is recorded a second
# time (check_decision returns the step, not None), not answered as a repeat.
POSTPONE_EXAMPLE = [*_to_open(2), Decide(Who.PENDING, 0, Outcome.POSTPONE)]


@PROFILE
@given(setup=setups(), intents=sequences())
@example(setup=THREE, intents=POSTPONE_EXAMPLE)
def test_the_same_postponement_again_is_a_no_op(setup: Setup, intents: list[Intent]) -> None:
    play(setup, intents, SOUND | {Check.POSTPONE_REPEAT})


# roeselare rejects in the council round (unanimity: rejected at once); during the
# renegotiation ardooie joins (accepted, "decides in" no round); the amendment reopens the
# round for roeselare only, and the round can pass without ardooie ever deciding.
JOIN_EXAMPLE = [
    *_to_open(6),
    PlayEveryone(reject=0),
    Settle(),
    Join(index=3),
    Amend(),
]


@PROFILE
@given(setup=setups(), intents=sequences())
@example(setup=THREE, intents=JOIN_EXAMPLE)
def test_a_joiner_decides_in_every_open_round(setup: Setup, intents: list[Intent]) -> None:
    play(setup, intents, SOUND | {Check.JOINER_DECIDES})
