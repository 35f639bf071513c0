"""The law's rules on the trajectory's state, hand-computed: who decides, on which date, under
which rule, with which lead times (TrajectoryState and rules/ on their own, no server)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rules.deadlines import legal_close_date
from rules.lead_times import earliest_assembly, lead_time_breaches
from schemas.common import AuthorityKind, CooperationKind, Outcome
from schemas.deadlines import DeadlineCatalogue
from schemas.trajectory import (
    Amendment,
    DecisionInput,
    DelegateVote,
    JoinRequest,
    Participant,
    StepStatus,
    TaskCompletion,
    TrajectoryInput,
    TrajectoryRequest,
)
from templates.loader import load_template
from tests.support.members import MUNICIPALITIES
from workflows.state import MessageRejected, StepState, TrajectoryState

START = date(2027, 1, 4)
AV = date(2027, 6, 30)
PARTICIPANTS = ("izegem", "tielt", "pittem")


def municipality(authority_id: str, *, member: bool = True) -> Participant:
    return Participant(
        authority_id=authority_id,
        name=authority_id.title(),
        is_midwest_member=member,
        votes=1 if member else 0,
    )


WVI = Participant(authority_id="wvi", name="WVI", kind=AuthorityKind.INTERCOMMUNALE, votes=1)
MEMBERS = (*(municipality(m) for m in MUNICIPALITIES), WVI)


def state_for(
    kind: CooperationKind = CooperationKind.PROJECTVERENIGING,
    *,
    participants: tuple[Participant, ...] = (),
    deadlines: DeadlineCatalogue | None = None,
) -> TrajectoryState:
    request = TrajectoryRequest(
        cooperation_id="projectvereniging-bie",
        cooperation_name="Projectvereniging BIE",
        kind=kind,
        participants=participants or tuple(municipality(p) for p in PARTICIPANTS),
        members=MEMBERS,
        planned_av_date=AV,
        effective_date=AV + timedelta(days=90),
        coordinator="Coördinator Midwest",
        deadlines=deadlines or DeadlineCatalogue(),
    )
    return TrajectoryState(TrajectoryInput(request=request, template=load_template(kind)), START)


def decide(
    authority_id: str,
    session: date,
    outcome: Outcome = Outcome.APPROVE,
    *,
    step_id: str | None = None,
    **extra: object,
) -> DecisionInput:
    return DecisionInput.model_validate(
        {
            "authority_id": authority_id,
            "outcome": outcome,
            "session_date": session,
            "reference": f"https://{authority_id}.example/besluit/{session}",
            "step_id": step_id,
            "recorded_by": "Secretariaat Midwest",
            **extra,
        }
    )


def record(state: TrajectoryState, d: DecisionInput, today: date) -> StepState:
    completed = state.complete_decision(d, today)
    step = state.check_decision(completed, today)
    assert step is not None
    state.apply_decision(step, completed)
    return step


def opened(state: TrajectoryState, step_id: str, on: date) -> StepState:
    step = state.steps[step_id]
    state.open_step(step, on)
    return step


def finish(state: TrajectoryState, step_id: str, on: date) -> StepState:
    step = state.steps[step_id]
    state.open_step(step, on)
    state.complete_step(step, on)
    return step


# --- who decides ---------------------------------------------------------------------------


def test_the_statute_change_is_decided_by_every_member_and_the_exit_by_the_participants() -> None:
    state = state_for()
    council = opened(state, "council-round", START)
    exit_round = opened(state, "participants-exit", START)
    assert list(council.parties) == [*MUNICIPALITIES, "wvi"]
    assert list(exit_round.parties) == list(PARTICIPANTS)


def test_a_participant_outside_the_region_decides_its_exit_but_not_the_statute_change() -> None:
    outsider = municipality("zwevezele-buiten", member=False)
    state = state_for(participants=(municipality("izegem"), outsider))
    council = opened(state, "council-round", START)
    exit_round = opened(state, "participants-exit", START)
    assert "zwevezele-buiten" not in council.parties
    assert list(exit_round.parties) == ["izegem", "zwevezele-buiten"]


def test_one_council_with_two_open_decisions_names_the_step() -> None:
    state = state_for()
    opened(state, "council-round", START)
    opened(state, "participants-exit", START)
    with pytest.raises(MessageRejected, match="several open decisions"):
        state.check_decision(state.complete_decision(decide("izegem", START), START), START)
    assert record(state, decide("izegem", START, step_id="participants-exit"), START)


# --- the general assembly's rule on its delegates' votes -------------------------------------


def assembly_votes(
    against: tuple[str, ...], *, wvi: Outcome = Outcome.APPROVE, absent: tuple[str, ...] = ()
) -> tuple[DelegateVote, ...]:
    votes = [
        DelegateVote(authority_id=m, outcome=Outcome.REJECT if m in against else Outcome.APPROVE)
        for m in MUNICIPALITIES
        if m not in absent
    ]
    return (*votes, DelegateVote(authority_id="wvi", outcome=wvi))


FOUR_AGAINST = ("roeselare", "izegem", "tielt", "ardooie")
FIVE_AGAINST = (*FOUR_AGAINST, "hooglede")


@pytest.mark.parametrize(
    ("against", "wvi", "passes"),
    [
        # 12 of 16 municipalities for: municipal votes 12/16 = 75% (meets 3/4), 12 > 8.
        # With WVI for, 13 of 17 votes cast = 76.5%: passes; against, 12/17 = 70.6%: fails.
        (FOUR_AGAINST, Outcome.APPROVE, True),
        (FOUR_AGAINST, Outcome.REJECT, False),
        # 11 of 16: municipal votes 68.8%, short of 3/4, whatever WVI votes.
        (FIVE_AGAINST, Outcome.APPROVE, False),
        ((), Outcome.APPROVE, True),
    ],
)
def test_an_assembly_approval_stands_only_when_its_votes_meet_the_rule(
    against: tuple[str, ...], wvi: Outcome, passes: bool
) -> None:
    state = state_for()
    opened(state, "general-assembly", AV)
    d = decide("dvv-midwest-av", AV, delegates=assembly_votes(against, wvi=wvi))
    if passes:
        assert record(state, d, AV).spec.id == "general-assembly"
    else:
        with pytest.raises(MessageRejected, match=r"do not approve .* \d+ of \d+ cast"):
            record(state, d, AV)
        assert state.steps["general-assembly"].parties["dvv-midwest-av"].decision is None


def test_the_arithmetic_is_shown_and_a_rejection_the_votes_do_not_give_is_refused() -> None:
    state = state_for()
    opened(state, "general-assembly", AV)
    wvi_decides = assembly_votes(FOUR_AGAINST, wvi=Outcome.REJECT)
    with pytest.raises(MessageRejected) as refused:
        record(state, decide("dvv-midwest-av", AV, delegates=wvi_decides), AV)
    assert "approve votes 12 of 16 cast (70.6%)" not in str(refused.value)
    assert "approve votes 12 of 17 cast (70.6%) fall short of 3/4" in str(refused.value)
    assert "approve municipal votes 12 of 16 cast (75.0%) meet 3/4" in str(refused.value)
    everyone = assembly_votes(())
    with pytest.raises(MessageRejected, match="these votes approve"):
        record(state, decide("dvv-midwest-av", AV, Outcome.REJECT, delegates=everyone), AV)


def test_an_approval_without_votes_and_a_delegate_who_is_no_member_are_refused() -> None:
    state = state_for()
    opened(state, "general-assembly", AV)
    with pytest.raises(MessageRejected, match="needs the delegates' votes"):
        record(state, decide("dvv-midwest-av", AV), AV)
    stranger = (*assembly_votes(()), DelegateVote(authority_id="vdab", outcome=Outcome.APPROVE))
    with pytest.raises(MessageRejected, match="vdab: not a member of the general assembly"):
        record(state, decide("dvv-midwest-av", AV, delegates=stranger), AV)
    # A plain rejection needs no votes: nothing is approved on it.
    assert record(state, decide("dvv-midwest-av", AV, Outcome.REJECT), AV)


def test_absent_members_are_no_votes_cast_but_count_in_the_municipal_majority() -> None:
    state = state_for()
    opened(state, "general-assembly", AV)
    # 8 municipalities present and for, 8 absent: every vote cast approves, but 8 of 16 is
    # not more than half of the municipalities.
    absent = MUNICIPALITIES[8:]
    with pytest.raises(MessageRejected, match="8 of 16 participating municipalities"):
        record(state, decide("dvv-midwest-av", AV, delegates=assembly_votes((), absent=absent)), AV)


# --- on which date -------------------------------------------------------------------------


def closed_round(state: TrajectoryState, silent: str) -> tuple[StepState, date]:
    """The members' round with everyone approving but `silent`, closed at its deadline."""
    council = opened(state, "council-round", START)
    for authority_id in council.parties:
        if authority_id != silent:
            record(state, decide(authority_id, START, step_id="council-round"), START)
    due = state.due_date(council)
    assert due == AV - timedelta(days=1)
    state.close_round(council)
    status, reasons = state.verdict(council, closed=True)
    assert status == "approved"
    state.pass_decision(council, reasons, legal_close_date(due))
    return council, due


def test_a_decision_taken_in_time_and_recorded_within_the_grace_counts() -> None:
    state = state_for()
    council, due = closed_round(state, silent="wingene")
    late_day = due + timedelta(days=30)  # the last day of the default recording grace
    step = record(state, decide("wingene", due, Outcome.REJECT, step_id="council-round"), late_day)
    assert step is council and not council.parties["wingene"].counted_as_abstention
    before, after, reasons = state.revise_round(council, late_day) or ("", "", [])
    assert (before, after) == ("approved", "approved")  # 15/16 and 16/17 still meet 3/4
    assert "approve votes 16 of 17 cast" in "; ".join(reasons)


def test_a_late_recording_after_the_grace_or_of_a_session_after_the_deadline_is_refused() -> None:
    state = state_for(deadlines=DeadlineCatalogue(recording_grace_days=10))
    council, due = closed_round(state, silent="wingene")
    with pytest.raises(MessageRejected, match=r"could be recorded until \d{4}-\d\d-\d\d"):
        record(state, decide("wingene", due, step_id="council-round"), due + timedelta(days=11))
    with pytest.raises(MessageRejected, match="after the deadline is silence"):
        late = decide("wingene", due + timedelta(days=1), step_id="council-round")
        record(state, late, due + timedelta(days=2))
    assert council.parties["wingene"].counted_as_abstention


def test_a_late_approval_overturns_a_rejection_and_ends_the_renegotiation() -> None:
    state = state_for()
    exit_round = opened(state, "participants-exit", START)
    for authority_id in ("izegem", "tielt"):
        record(state, decide(authority_id, START, step_id="participants-exit"), START)
    due = state.due_date(exit_round)
    assert due is not None
    state.close_round(exit_round)  # pittem silent: unanimity fails
    status, reasons = state.verdict(exit_round, closed=True)
    assert status == "rejected"
    state.reject_decision(exit_round, reasons)
    record(state, decide("pittem", due, step_id="participants-exit"), due + timedelta(days=5))
    assert state.revise_round(exit_round, due + timedelta(days=5)) is not None
    assert state.renegotiating is None and exit_round.status is StepStatus.OPEN
    assert state.verdict(exit_round, closed=False)[0] == "approved"


def test_the_90_day_period_runs_from_the_boards_session_date() -> None:
    state = state_for()
    board = opened(state, "board-statute-text", START)
    session = START + timedelta(days=3)
    record(state, decide("dvv-midwest-rvb", session), START + timedelta(days=20))
    state.complete_step(board, START + timedelta(days=20))  # recorded 17 days later
    period = state.steps["statute-period"]
    assert state.date_for(period.spec.wait_until) == session + timedelta(days=90)


def test_a_session_date_before_the_step_opened_needs_a_reason() -> None:
    state = state_for()
    opened(state, "board-statute-text", START + timedelta(days=10))
    early = decide("dvv-midwest-rvb", START + timedelta(days=2))
    with pytest.raises(MessageRejected, match=r"before the step 'board-statute-text' opened"):
        record(state, early, START + timedelta(days=12))
    with pytest.raises(MessageRejected, match="before the trajectory started"):
        record(state, decide("dvv-midwest-rvb", START - timedelta(days=1)), START + timedelta(12))
    reasoned = early.model_copy(update={"taken_in_advance_because": "vooraf beslist"})
    assert record(state, reasoned, START + timedelta(days=12))


def test_the_escalation_grace_never_moves_the_legal_close() -> None:
    due = date(2027, 6, 29)
    assert legal_close_date(due) == date(2027, 6, 30)
    state = state_for(deadlines=DeadlineCatalogue(escalation_days_after_deadline=14))
    council = opened(state, "council-round", START)
    assert state.due_date(council) == due  # the grace changes neither due date nor close


# --- lead times ----------------------------------------------------------------------------


def test_a_deadline_override_moves_due_dates_and_waits() -> None:
    default = state_for()
    longer = state_for(deadlines=DeadlineCatalogue(statute_draft_to_av_days=120))
    for state, days in ((default, 90), (longer, 120)):
        board = state.steps["board-statute-text"]
        assert state.due_date(board) == AV - timedelta(days=days)
        finish(state, "board-statute-text", START)
        period = state.steps["statute-period"]
        assert state.date_for(period.spec.wait_until) == START + timedelta(days=days)
    weeks = state_for(deadlines=DeadlineCatalogue(wvv_filing_before_av_weeks=8))
    # 8 weeks before Wednesday 30 June 2027 is Wednesday 5 May, a working day.
    assert weeks.due_date(weeks.steps["file-wvv-proposal"]) == date(2027, 5, 5)


def test_the_union_meeting_waits_for_the_convocation_period() -> None:
    state = state_for()
    convened = date(2027, 3, 1)  # a Monday
    finish(state, "union-convocation", convened)
    meeting = opened(state, "union-consultation", convened)
    # 10 working days after Monday 1 March 2027: 2-5, 8-12, 15 March (no public holiday).
    assert state.earliest_day(meeting) == date(2027, 3, 15)
    too_early = TaskCompletion(
        step_id="union-consultation",
        evidence="pv://1",
        completed_by="hr",
        done_on=date(2027, 3, 12),
    )
    with pytest.raises(MessageRejected, match="the earliest valid date is 2027-03-15"):
        state.check_task(too_early, date(2027, 3, 20))
    in_time = too_early.model_copy(update={"done_on": date(2027, 3, 15)})
    assert state.check_task(in_time, date(2027, 3, 20)) is meeting
    with pytest.raises(MessageRejected, match="the earliest valid date is 2027-03-15"):
        state.check_task(in_time.model_copy(update={"done_on": None}), date(2027, 3, 10))


def test_an_assembly_too_soon_names_each_broken_rule_and_the_earliest_date() -> None:
    template = load_template(CooperationKind.PROJECTVERENIGING)
    catalogue = DeadlineCatalogue()
    today = date(2026, 12, 1)
    broken = lead_time_breaches(template, catalogue, today, date(2027, 1, 15))
    assert {(b.step_id, b.lead_time.value) for b in broken} == {
        ("board-statute-text", "statute-draft-to-av"),
        ("old-board-transfer", "boards-before-wvv-with-statute-change"),
        ("statute-period", "statute-draft-to-av"),
    }
    # The 90 days from today: 1 December 2026 + 90 = 1 March 2027.
    assert earliest_assembly(template, catalogue, today) == date(2027, 3, 1)
    assert lead_time_breaches(template, catalogue, today, date(2027, 3, 1)) == []
    assert lead_time_breaches(template, catalogue, today, date(2027, 2, 28)) != []
    longer = DeadlineCatalogue(statute_draft_to_av_days=100)
    assert earliest_assembly(template, longer, today) == date(2027, 3, 11)


def test_an_amendment_after_the_deadline_needs_a_new_assembly_date() -> None:
    state = state_for()
    exit_round, due = closed_round_rejected(state)
    late = due + timedelta(days=3)
    keep_dates = Amendment(reason="nieuw voorstel", amended_by="coördinator")
    with pytest.raises(MessageRejected, match=r"has passed; a new round needs a new general"):
        state.check_amendment(keep_dates, late)
    assert state.renegotiating == "participants-exit"
    new_av = Amendment(
        reason="nieuw voorstel",
        amended_by="coördinator",
        planned_av_date=AV + timedelta(days=120),
        effective_date=AV + timedelta(days=180),
    )
    assert state.check_amendment(new_av, late) is exit_round
    backdated = new_av.model_copy(update={"effective_date": late - timedelta(days=1)})
    with pytest.raises(MessageRejected, match="backdating is not allowed"):
        state.check_amendment(backdated, late)
    too_soon = new_av.model_copy(update={"planned_av_date": late + timedelta(days=1)})
    with pytest.raises(MessageRejected, match=r"would be \d{4}-\d\d-\d\d, already passed"):
        state.check_amendment(too_soon, late + timedelta(days=2))
    # Before the deadline the old dates still hold.
    early = state_for()
    _, early_due = closed_round_rejected(early)
    assert early.check_amendment(keep_dates, early_due) is early.steps["participants-exit"]


def closed_round_rejected(state: TrajectoryState) -> tuple[StepState, date]:
    """The participants' round, Pittem rejecting: unanimity fails at once."""
    exit_round = opened(state, "participants-exit", START)
    record(state, decide("pittem", START, Outcome.REJECT, step_id="participants-exit"), START)
    status, reasons = state.verdict(exit_round, closed=False)
    assert status == "rejected"
    state.reject_decision(exit_round, reasons)
    due = state.due_date(exit_round)
    assert due is not None
    return exit_round, due


# --- renegotiation ---------------------------------------------------------------------------


def rejected_after_the_board_text(state: TrajectoryState) -> StepState:
    """The board fixed its text, the period runs, the members decide; the participants'
    round is rejected (Pittem, unanimity)."""
    finish(state, "board-statute-text", START)
    opened(state, "statute-period", START)
    opened(state, "council-round", START)
    exit_round, _ = closed_round_rejected(state)
    return exit_round


def test_a_changed_proposal_starts_the_board_text_the_period_and_every_round_again() -> None:
    state = state_for()
    exit_round = rejected_after_the_board_text(state)
    record(state, decide("izegem", START, step_id="council-round"), START)
    changed = Amendment(reason="nieuwe verdeelsleutel", amended_by="c", changes_proposal=True)
    assert state.check_amendment(changed, START + timedelta(days=5)) is exit_round
    restarted = state.restart_set(exit_round)
    assert [s.spec.id for s in restarted] == [
        "board-statute-text",
        "council-round",
        "participants-exit",
        "statute-period",
    ]
    state.apply_amendment(exit_round, changed)
    assert state.renegotiating is None
    for step in restarted:
        assert (step.status, step.round_number, step.parties) == (StepStatus.WAITING, 1, {})
    # Izegem's approval of the old text no longer counts: the new round starts empty, with
    # every member again once it opens.
    council = opened(state, "council-round", START + timedelta(days=10))
    assert set(council.parties) == {m.authority_id for m in MEMBERS}
    assert all(p.outcome is None for p in council.parties.values())


def test_a_changed_proposal_whose_assembly_cannot_be_met_is_refused_with_the_earliest() -> None:
    state = state_for()
    rejected_after_the_board_text(state)
    today = AV - timedelta(days=60)  # a new text 90 days before the assembly is too late
    changed = Amendment(reason="nieuwe tekst", amended_by="c", changes_proposal=True)
    earliest = today + timedelta(days=90)
    with pytest.raises(MessageRejected, match=f"on or after {earliest}"):
        state.check_amendment(changed, today)
    in_time = changed.model_copy(
        update={"planned_av_date": earliest, "effective_date": earliest + timedelta(days=60)}
    )
    assert state.check_amendment(in_time, today) is state.steps["participants-exit"]


def test_a_changed_proposal_reopens_every_round_so_naming_parties_is_refused() -> None:
    with pytest.raises(ValueError, match="leave reopen_for out"):
        Amendment(reason="r", amended_by="c", changes_proposal=True, reopen_for=("izegem",))


def test_an_assembly_rejection_is_amended_the_same_or_with_a_changed_proposal() -> None:
    for changes in (False, True):
        state = state_for()
        finish(state, "board-statute-text", START)
        council = finish(state, "council-round", START + timedelta(days=40))
        assembly = opened(state, "general-assembly", AV)
        state.reject_decision(assembly, ["de algemene vergadering keurt niet goed"])
        later = AV + timedelta(days=1)
        amendment = Amendment(
            reason="tweede lezing",
            amended_by="c",
            changes_proposal=changes,
            planned_av_date=later + timedelta(days=100),
            effective_date=later + timedelta(days=200),
        )
        assert state.check_amendment(amendment, later) is assembly
        reopened = state.apply_amendment(assembly, amendment)
        if changes:  # the councils decide again on the new text
            assert council.status is StepStatus.WAITING
            assert assembly.status is StepStatus.WAITING
        else:  # the same proposal goes to the assembly again
            assert reopened == ["dvv-midwest-av"]
            assert (assembly.status, assembly.round_number) == (StepStatus.OPEN, 1)
            assert council.status is StepStatus.DONE


def test_a_participant_who_joined_during_the_renegotiation_decides_in_the_reopened_round() -> None:
    state = state_for()
    exit_round, _ = closed_round_rejected(state)
    newcomer = JoinRequest(participant=municipality("ledegem"), joined_by="c")
    state.check_join(newcomer)
    assert state.apply_join(newcomer) == ["participants-exit"]
    same = Amendment(reason="uitstel", amended_by="c")
    reopened = state.apply_amendment(state.check_amendment(same, START), same)
    assert "ledegem" in reopened and "ledegem" in exit_round.parties
    assert exit_round.status is StepStatus.OPEN
