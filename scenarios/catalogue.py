"""The five real trajectories of the organisation's account (seed §3.2), as scenarios.

Each scenario states what the account says (`from_source`) apart from what the scenario has to
choose where the account is silent (`assumed`): exact days inside the year the account gives,
which besturen took part where it names none, a trekkende gemeente it does not name. The
runner prints both, so nobody mistakes a choice for a fact.

A scenario never touches the register's own rows, which keep the real history (most of these
cooperations were integrated years ago): it works on copies named "(scenario)", with ids
`scenario-<id>` (scenarios/register.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from schemas.common import Outcome
from schemas.trajectory import Asset, StaffMember, StructureEnd

# The sixteen local governments of DVV Midwest (domain.md), and WVI.
SIXTEEN = (
    "roeselare", "izegem", "tielt", "ardooie", "hooglede", "ingelmunster", "ledegem",
    "lichtervelde", "meulebeke", "moorslede", "oostrozebeke", "pittem", "ruiselede", "staden",
    "wielsbeke", "wingene",
)  # fmt: skip


@dataclass(frozen=True)
class MergedCase:
    """A cooperation merged into the scenario's trajectory. `source_id`: its register row, or
    None for one the account does not name (a placeholder row is made, named as such)."""

    name: str
    end: StructureEnd
    note: str
    source_id: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str  # Dutch
    source: str  # the account's section
    cooperation_id: str  # the register row the scenario copies
    participants: tuple[str, ...]
    starts_on: date
    planned_av_date: date | None
    effective_date: date
    from_source: tuple[str, ...]  # Dutch: what the account states
    assumed: tuple[str, ...]  # Dutch: what the scenario chooses where the account is silent
    host: str | None = None
    merged: tuple[MergedCase, ...] = ()
    staff: tuple[StaffMember, ...] = ()
    assets: tuple[Asset, ...] = ()
    continues_as: str | None = None
    project_call: bool = False
    # How the parties answer where not everyone approves: (step id, authority id) -> outcome.
    outcomes: Mapping[tuple[str, str], Outcome] = field(default_factory=dict)
    # Tasks done on a day of their own (not before it): step id -> day.
    done_on: Mapping[str, date] = field(default_factory=dict)


WIJK_WERKEN = Scenario(
    name="wijk-werken",
    title="Wijk-werken: regierol onder het kader van VDAB",
    source="3.2.1",
    cooperation_id="wijk-werken",
    participants=SIXTEEN,
    starts_on=date(2017, 5, 2),
    planned_av_date=date(2017, 11, 24),
    effective_date=date(2018, 1, 1),
    from_source=(
        "Sinds 1 januari 2018 is DVV Midwest organisator van wijk-werken, in nauwe "
        "samenwerking met VDAB.",
        "De 16 Midwest-besturen gingen akkoord om wijk-werken regionaal uit te bouwen.",
    ),
    assumed=(
        "De bron geeft enkel de ingangsdatum. De data van de beslissingen zijn zo gekozen dat "
        "de wettelijke termijnen (90 dagen voor de algemene vergadering, 30 dagen "
        "klachtentermijn) de ingangsdatum halen; in werkelijkheid vielen ze samen met de "
        "oprichting van DVV Midwest op 22 december 2017.",
        "Personeel en een projectoproep noemt de bron niet; het scenario heeft ze niet.",
    ),
)

REGIEROL_SOCIALE_ECONOMIE = Scenario(
    name="regierol-sociale-economie",
    title="Regierol sociale economie: de werking van het RESOC met personeel",
    source="3.2.2",
    cooperation_id="regierol-sociale-economie",
    participants=SIXTEEN,
    starts_on=date(2018, 12, 3),
    planned_av_date=date(2019, 5, 24),
    effective_date=date(2019, 7, 1),
    staff=(
        StaffMember(
            name="Medewerker sociale economie 1",
            statute="contractual",
            function="regisseur sociale economie",
            former_employer="RESOC (verdwenen)",
        ),
        StaffMember(
            name="Medewerker sociale economie 2",
            statute="contractual",
            former_employer="RESOC (verdwenen)",
        ),
    ),
    project_call=True,
    from_source=(
        "De samenwerking was ingebed in de structuur van het RESOC; door het verdwijnen van "
        "het RESOC is de werking inclusief personeel ingekanteld in DVV Midwest.",
        "De afspraken en engagementen zijn geformaliseerd bij de bestuursorganen.",
        "Vervolgens is regionaal ingediend op de projectoproep om de werking te continueren.",
    ),
    assumed=(
        "De bron geeft het jaar 2019; de dagen zijn gekozen.",
        "Welke besturen zich engageerden, zegt de bron niet; het scenario neemt de 16.",
        "Twee personeelsleden, zonder namen: de bron noemt hun aantal niet.",
        "Of de projectoproep werd toegekend, zegt de bron niet; het scenario kent ze toe.",
    ),
)

SPORT_MIDWEST = Scenario(
    name="sport-midwest",
    title="Sport Midwest: vijf samenwerkingen rond sport in één regionale werking",
    source="3.2.3",
    cooperation_id="sport-midwest",
    participants=SIXTEEN,
    starts_on=date(2018, 9, 3),
    planned_av_date=None,
    effective_date=date(2019, 3, 1),
    merged=(
        MergedCase(
            name="Regionaal Sportoverleg",
            source_id="regionaal-sportoverleg",
            end=StructureEnd.DISSOLVED,
            note="In 2020 officieel ontbonden; de werking is opgegaan in Sport Midwest.",
        ),
        MergedCase(
            name="Sportsamenwerking B",
            end=StructureEnd.CONTINUED_OUTSIDE_REGION,
            note="Verder gezet door de besturen buiten de regio Midwest.",
        ),
        MergedCase(
            name="Sportsamenwerking C",
            end=StructureEnd.CONTINUED_OUTSIDE_REGION,
            note="Verder gezet door de besturen buiten de regio Midwest.",
        ),
        MergedCase(name="Sportsamenwerking D", end=StructureEnd.ENDED, note="Opgeheven."),
        MergedCase(name="Sportsamenwerking E", end=StructureEnd.ENDED, note="Opgeheven."),
    ),
    done_on={"formal-end": date(2020, 2, 3)},
    from_source=(
        "In regio Midwest waren 5 samenwerkingen rond sport actief; het Regionaal "
        "Sportoverleg omvatte 9 Midwest-besturen en 1 niet-Midwestbestuur.",
        "Sport Midwest startte in 2019 met de 16 besturen onder de koepel van Midwest.",
        "Het Regionaal Sportoverleg is in 2020 officieel ontbonden; de overige samenwerkingen "
        "worden verder gezet door de besturen buiten de regio of zijn opgeheven.",
    ),
    assumed=(
        "De bron geeft de jaren 2019 en 2020; de dagen zijn gekozen.",
        "De vier andere samenwerkingen noemt de bron niet bij naam, en ook niet welke verder "
        "gezet en welke opgeheven werd: het scenario maakt ze aan als 'Sportsamenwerking B' "
        "tot 'E', twee verder gezet buiten de regio en twee opgeheven.",
    ),
)

ARCHIEFTEAM = Scenario(
    name="archiefteam",
    title="Intergemeentelijk archiefteam: een gedeelde dienst met een trekkende gemeente",
    source="3.2.4",
    cooperation_id="intergemeentelijk-archiefteam",
    participants=("tielt", "ardooie", "pittem", "ruiselede", "wingene", "meulebeke"),
    host="tielt",
    starts_on=date(2019, 3, 4),
    planned_av_date=date(2019, 11, 22),
    effective_date=date(2020, 1, 1),
    staff=(
        StaffMember(name="Archivaris", statute="statutory", function="archivaris"),
        StaffMember(name="Archiefmedewerker digitaal archief", statute="contractual"),
    ),
    assets=(Asset(description="Software voor het digitaal archief", kind="contract"),),
    from_source=(
        "Het archiefteam ondersteunt een aantal besturen bij het analoge en digitale archief; "
        "het werd opgestart met een lokaal bestuur als trekkende gemeente.",
        "Op 1 januari 2020 is het archiefteam ingekanteld in Midwest; de afspraken zijn "
        "geformaliseerd bij de bestuursorganen van het bestuur en Midwest.",
    ),
    assumed=(
        "De bron noemt de trekkende gemeente en de gebruikende besturen niet (ongeveer zes): "
        "het scenario kiest Tielt als trekkende gemeente en vijf buurgemeenten.",
        "Twee personeelsleden en één contract, zonder namen.",
    ),
)

BIE = Scenario(
    name="bie",
    title="Projectvereniging BIE: overdracht via het WVV, voortgezet als cultuur- en "
    "erfgoedplatform",
    source="3.2.5",
    cooperation_id="projectvereniging-bie",
    participants=SIXTEEN,
    starts_on=date(2020, 1, 6),
    planned_av_date=date(2020, 10, 23),
    effective_date=date(2020, 12, 1),
    continues_as="Cultuur- en erfgoedplatform van Midwest",
    staff=(
        StaffMember(name="Erfgoedcoördinator", statute="contractual", function="erfgoed"),
        StaffMember(name="Cultuurbeleidsmedewerker", statute="contractual"),
    ),
    assets=(
        Asset(description="Collectieregistratiesysteem", kind="contract"),
        Asset(description="Projectsubsidie erfgoedconvenant", kind="subsidy"),
    ),
    from_source=(
        "Het Decreet Lokaal Bestuur heeft geen procedure voor een projectvereniging: onder "
        "externe juridische begeleiding is het Wetboek van Vennootschappen en Verenigingen "
        "gevolgd, in afstemming met ABB.",
        "Juridische, technische, administratieve, financiële, fiscale en personele "
        "aangelegenheden kwamen aan bod.",
        "Op 1 december 2020 is de werking van BIE ingekanteld in DVV Midwest en wordt ze "
        "voortgezet als het cultuur- en erfgoedplatform van Midwest.",
    ),
    assumed=(
        "De bron noemt de deelnemers van BIE niet: het scenario neemt de 16 besturen.",
        "De data van de beslissingen zijn gekozen binnen de wettelijke termijnen.",
        "Twee personeelsleden, een contract en een subsidie, zonder namen.",
    ),
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (WIJK_WERKEN, REGIEROL_SOCIALE_ECONOMIE, SPORT_MIDWEST, ARCHIEFTEAM, BIE)
}
