"""Search attributes of a trajectory, shown and filterable in the Temporal Web UI.

None of them carries personal data: authorities and cooperations are public bodies, named by
their register ids.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

PHASE = SearchAttributeKey.for_keyword("TrajectoryPhase")
COOPERATION_KIND = SearchAttributeKey.for_keyword("CooperationKind")
COOPERATION_ID = SearchAttributeKey.for_keyword("CooperationId")
PENDING_AUTHORITIES = SearchAttributeKey.for_keyword_list("PendingAuthorities")
EFFECTIVE_DATE = SearchAttributeKey.for_datetime("EffectiveDate")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    PHASE,
    COOPERATION_KIND,
    COOPERATION_ID,
    PENDING_AUTHORITIES,
    EFFECTIVE_DATE,
    OVERDUE,
)
