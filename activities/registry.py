"""The activities a worker registers, bound to one database pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from activities.actions import ActionActivities
from activities.journal import JournalActivities
from activities.lblod import LblodActivities


def activities_for(pool: asyncpg.Pool[asyncpg.Record]) -> list[Callable[..., Any]]:
    lblod = LblodActivities(pool)
    return [
        JournalActivities(pool).persist_journal,
        ActionActivities(pool).perform_action,
        lblod.plan,
        lblod.read_source,
    ]
