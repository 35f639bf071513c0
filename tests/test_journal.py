"""The audit journal on its own: numbering and batching under any order of recording and
persisting (workflows/journal.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import events as ev
from schemas.journal import JournalRecord
from schemas.template import Phase
from workflows.journal import AuditJournal

ON = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# A move of the workflow: record n events, or hand out a batch and (maybe) see it persisted.
Move = tuple[str, int]
moves = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(min_value=1, max_value=7)),
        st.tuples(st.just("flush"), st.booleans().map(int)),
    ),
    max_size=40,
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(batch_size=st.integers(min_value=1, max_value=5), script=moves)
def test_batches_persist_every_record_once_in_order(batch_size: int, script: list[Move]) -> None:
    journal = AuditJournal(batch_size)
    persisted: list[JournalRecord] = []
    for move, amount in script:
        if move == "record":
            for _ in range(amount):
                journal.record(ev.StepOpened(), "step opened", on=ON, at=AT, step_id="x")
        else:
            batch = journal.next_batch()
            assert len(batch) <= batch_size
            assert bool(batch) == journal.has_unpersisted()
            if batch and amount:  # the activity answered; else it is retried later
                journal.mark_persisted(batch)
                persisted.extend(batch)
    while journal.has_unpersisted():
        batch = journal.next_batch()
        journal.mark_persisted(batch)
        persisted.extend(batch)
    sequence = [record.event.seq for record in persisted]
    assert sequence == list(range(1, len(journal.events) + 1)), "a gap or a repeat"
    assert [record.event for record in persisted] == list(journal.events)
    assert journal.all_persisted() and journal.persisted == len(sequence)


def test_only_the_batch_handed_out_can_be_marked_persisted() -> None:
    journal = AuditJournal(2)
    for _ in range(3):
        journal.record(ev.StepOpened(), "step opened", on=ON, at=AT)
    first = journal.next_batch()
    with pytest.raises(ValueError):
        journal.mark_persisted(first[1:])
    with pytest.raises(ValueError):
        journal.mark_persisted(())
    journal.mark_persisted(first)
    assert journal.persisted == 2
    assert [r.event.seq for r in journal.next_batch()] == [3]


def test_an_event_carries_its_kind_and_payload() -> None:
    journal = AuditJournal(50)
    event = journal.record(
        ev.PhaseChanged(previous=Phase.PREPARATION, phase=Phase.CONSULTATION),
        "phase preparation -> consultation",
        on=ON,
        at=AT,
    )
    assert event.kind is ev.PhaseChanged.KIND
    assert event.data == {"previous": "preparation", "phase": "consultation"}
    with pytest.raises(ValueError):
        AuditJournal(0)
