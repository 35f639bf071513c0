"""A scenario's own rows in the register: copies of the real cooperations, named "(scenario)".

The register's rows keep the real history (wijk-werken integrated on 1 January 2018, the
Regionaal Sportoverleg dissolved in 2020, ...). A scenario that replays that history works on
copies with ids `scenario-<scenario name>` (and `scenario-<name>-<merged one>`), so running it
never overwrites a real fact and never writes a chosen day into a real row. A merged
cooperation the account does not name gets a placeholder row that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.connect import DbConnection
from db.register import (
    SCENARIO_PREFIX,
    get_cooperation,
    reset_scenario_copies,
    upsert_cooperations,
)
from scenarios.catalogue import MergedCase, Scenario
from schemas.common import CooperationKind
from schemas.register import CooperationFiche


class ScenarioSetupError(RuntimeError):
    """The register lacks what the scenario copies (run the migrations)."""


@dataclass(frozen=True)
class ScenarioRows:
    cooperation_id: str  # the copy the trajectory runs on
    merged_ids: tuple[str, ...]  # the copies (or placeholders) of the merged cooperations

    @property
    def all_ids(self) -> tuple[str, ...]:
        return (self.cooperation_id, *self.merged_ids)


def scenario_cooperation_id(scenario: Scenario) -> str:
    """The id of the row the scenario's trajectory runs on."""
    return (SCENARIO_PREFIX + scenario.name)[:63]


def _merged_id(scenario: Scenario, merged: MergedCase) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", merged.name.lower()).strip("-")
    return f"{scenario_cooperation_id(scenario)}-{slug}"[:63]


async def prepare_rows(conn: DbConnection, scenario: Scenario) -> ScenarioRows:
    """Write (or refresh) the scenario's rows and set them back to active."""
    primary = scenario_cooperation_id(scenario)
    fiches = [
        await _copy(conn, scenario, scenario.cooperation_id, primary, members=scenario.participants)
    ]
    merged_ids = []
    for merged in scenario.merged:
        copy = _merged_id(scenario, merged)
        if merged.source_id is not None:
            fiche = await _copy(conn, scenario, merged.source_id, copy, members=())
        else:
            fiche = CooperationFiche(
                id=copy,
                name=f"{merged.name} (scenario)",
                kind=CooperationKind.INFORMAL_OVERLEG,
                remarks=(
                    f"Plaatshouder van het scenario {scenario.name}: het eigen verslag "
                    f"({scenario.source}) noemt deze samenwerking niet bij naam."
                ),
                members=(),
            )
        fiches.append(fiche)
        merged_ids.append(fiche.id)
    async with conn.transaction():
        await upsert_cooperations(conn, fiches)
        rows = ScenarioRows(cooperation_id=fiches[0].id, merged_ids=tuple(merged_ids))
        await reset_scenario_copies(conn, rows.all_ids)
    return rows


async def _copy(
    conn: DbConnection, scenario: Scenario, real_id: str, copy: str, *, members: tuple[str, ...]
) -> CooperationFiche:
    real = await get_cooperation(conn, real_id)
    if real is None:
        raise ScenarioSetupError(
            f"the register has no {real_id!r} for the scenario {scenario.name}; run the "
            "migrations (make up does)"
        )
    return CooperationFiche(
        id=copy,
        name=f"{real.name} (scenario)"[:200],
        kind=real.kind,
        domain=real.domain,
        core_task=real.core_task,
        legal_form=real.legal_form,
        partners=real.partners,
        remarks=(
            f"Scenario van het eigen verslag ({scenario.source}); het echte dossier is "
            f"{real.id}, met de echte geschiedenis."
        ),
        host=scenario.host if real.kind is CooperationKind.SHARED_SERVICE else None,
        members=members,
    )
