"""The trajectory's alarm: one timer for the earliest moment any step waits for.

A step coroutine waits for a change of the trajectory's state or for a moment on its calendar
(a reminder, a deadline, the end of a statutory period), then looks again. Waiting with
`workflow.wait_condition(..., timeout=...)` starts a timer per wait and cancels it when the
state changes first: with 17 councils deciding, every decision cancelled and restarted the
timer of every open step, two history events each, and a history that every workflow task
replays grew by a fifth. Instead, steps tell the `Alarm` which moment they wait for, and one
coroutine keeps one timer running until the earliest of them (`WakeTimer`): a change of state
moves no timer, and a step that opens or ends moves it only when it changes the earliest moment.

A timer is only ever replaced by one that fires sooner. When the earliest
moment moves later (the step that waited for it is done), the running timer is kept: it fires
early, once, and the next one is aimed from there. Tasks done in a row in one afternoon then
cancel and restart nothing, where each of them cost two history events before, and a kept
timer that fires for nobody costs one workflow task, weeks later.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

from temporalio import workflow


class Alarm:
    """The moments the open steps wait for, each under a token of its wait."""

    def __init__(self) -> None:
        self._moments: dict[int, datetime] = {}
        self._tokens = itertools.count()

    def want(self, moment: datetime) -> int:
        token = next(self._tokens)
        self._moments[token] = moment
        return token

    def drop(self, token: int) -> None:
        self._moments.pop(token, None)

    def earliest(self, after: datetime) -> datetime | None:
        """The earliest moment wanted that the calendar has not reached yet."""
        return min((m for m in self._moments.values() if m > after), default=None)


class WakeTimer:
    """One timer for one moment; aimed at another moment, it starts a new one."""

    def __init__(self) -> None:
        self._moment: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def aim(self, moment: datetime, duration: timedelta) -> None:
        """Run until `moment`, which is `duration` away; a timer already running for that
        moment is kept (its duration was computed when it started and still holds)."""
        if self._moment == moment and self._task is not None and not self._task.done():
            return
        self.cancel()
        self._moment = moment
        self._task = asyncio.create_task(workflow.sleep(duration))

    def aimed_at(self) -> datetime | None:
        """The moment the running timer is for; None when none runs."""
        if self._task is None or self._task.done():
            return None
        return self._moment

    def fired(self) -> bool:
        task = self._task
        return task is not None and task.done() and not task.cancelled()

    def cancel(self) -> None:
        """Stop the timer (if it still runs)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._moment = None
