"""phrasing/: Dutch dates, round tallies and the trajectory's notices, checked by hand.

Pure functions, pure tests. The last test guards what lets workflow code import phrasing/
inside Temporal's sandbox: the standard library and schemas/ only, and no clock, files or
environment.
"""

from __future__ import annotations

import ast
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from phrasing import notices
from phrasing.dates import format_date, format_optional_date
from phrasing.verdicts import PartyOutcome, tally
from phrasing.words import count, enumerate_nl
from report import dutch
from schemas.common import Outcome

PHRASING = Path(__file__).resolve().parent.parent / "phrasing"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
ROUND = "Beslissing van elke gemeenteraad en mandaat voor de AV-afgevaardigde"
ARCHIEF = "Intergemeentelijk archiefteam"


def test_dates_are_written_out() -> None:
    assert format_date(date(2020, 12, 1)) == "1 december 2020"
    assert format_date(date(2041, 3, 9)) == "9 maart 2041"
    assert format_date(date(2041, 1, 31)) == "31 januari 2041"
    assert format_optional_date(None) == "—"
    assert format_optional_date(None, "niet gekend") == "niet gekend"
    # The report's old names are the same functions: one home for Dutch dates.
    assert dutch.format_date is format_date and dutch.format_optional_date is format_optional_date


def test_counts_and_lists() -> None:
    assert count(1, "traject", "trajecten") == "1 traject"
    assert count(2, "traject", "trajecten") == "2 trajecten"
    assert count(0, "traject", "trajecten") == "0 trajecten"
    assert enumerate_nl([]) == ""
    assert enumerate_nl(["Tielt"]) == "Tielt"
    assert enumerate_nl(["Roeselare", "Izegem", "Tielt"]) == "Roeselare, Izegem en Tielt"


@pytest.mark.parametrize(
    ("parties", "said"),
    [
        ([PartyOutcome("Tielt", Outcome.APPROVE)], "de enige partij keurt goed"),
        (
            [PartyOutcome(n, Outcome.APPROVE) for n in ("Roeselare", "Izegem", "Tielt")],
            "alle 3 partijen keuren goed",
        ),
        ([PartyOutcome("Tielt", Outcome.REJECT)], "Tielt keurt af"),
        (
            [
                PartyOutcome("Roeselare", Outcome.APPROVE),
                PartyOutcome("Izegem", Outcome.APPROVE),
                PartyOutcome("Pittem", Outcome.REJECT),
                PartyOutcome("Wingene", Outcome.REJECT),
            ],
            "Roeselare en Izegem keuren goed; Pittem en Wingene keuren af",
        ),
        (
            [
                PartyOutcome("Roeselare", Outcome.APPROVE),
                PartyOutcome("Izegem", Outcome.ABSTAIN),
                PartyOutcome("Tielt", Outcome.POSTPONE),
                PartyOutcome("Pittem", None),
            ],
            "Roeselare keurt goed; Izegem onthoudt zich; Tielt stelt de beslissing uit; Pittem "
            "moet nog beslissen",
        ),
        (
            [
                PartyOutcome("Roeselare", Outcome.APPROVE),
                PartyOutcome("Staden", Outcome.ABSTAIN, silent=True),
                PartyOutcome("Pittem", None),
                PartyOutcome("Wingene", None),
            ],
            "Roeselare keurt goed; van Staden kwam binnen de termijn geen beslissing, wat als "
            "onthouding telt; Pittem en Wingene moeten nog beslissen",
        ),
        ([], "geen enkele partij heeft beslist"),
    ],
)
def test_a_tally_agrees_with_the_number_of_parties(parties: list[PartyOutcome], said: str) -> None:
    assert tally(parties) == said


def test_reminder() -> None:
    subject, body = notices.reminder(ROUND, ARCHIEF, date(2041, 5, 18))
    assert subject == f"Herinnering: {ROUND} (uiterlijk 18 mei 2041)"
    assert body == (
        f"In het traject om {ARCHIEF} in te kantelen in DVV Midwest staat “{ROUND}” nog open. "
        "Graag uw actie uiterlijk op 18 mei 2041."
    )


def test_escalation() -> None:
    subject, body = notices.escalation("Juridische scan", ARCHIEF, date(2041, 1, 1))
    assert subject == "Termijn overschreden: Juridische scan"
    assert body == (
        f"In het traject om {ARCHIEF} in te kantelen in DVV Midwest is de termijn voor "
        "“Juridische scan” op 1 januari 2041 verstreken; de stap staat nog open. Graag zo snel "
        "mogelijk uw actie. De coördinator is op de hoogte."
    )


def test_round_closed_names_the_silent_parties() -> None:
    subject, body = notices.round_closed(ROUND, ARCHIEF, date(2041, 5, 18), ["Pittem", "Wingene"])
    assert subject == f"Termijn verstreken: {ROUND}"
    assert body.endswith(
        "op 18 mei 2041 verstreken zonder beslissing van Pittem en Wingene. Dat telt als "
        "onthouding."
    )


def test_renegotiation_says_how_the_parties_decided_never_the_rule_in_english() -> None:
    parties = [
        PartyOutcome("Roeselare", Outcome.APPROVE),
        PartyOutcome("Izegem", Outcome.APPROVE),
        PartyOutcome("Tielt", Outcome.REJECT),
    ]
    subject, body = notices.renegotiation(ROUND, "Sport Midwest", parties)
    assert subject == f"Heronderhandeling: {ROUND}"
    assert body == (
        f"In het traject om Sport Midwest in te kantelen in DVV Midwest werd “{ROUND}” niet "
        "goedgekeurd: Roeselare en Izegem keuren goed; Tielt keurt af. Wijzig het voorstel of "
        "stop het traject."
    )
    _, single = notices.renegotiation("Principebeslissing raad van bestuur", "Sport Midwest")
    assert "niet goedgekeurd. Wijzig het voorstel" in single


def test_effective_date_needed() -> None:
    subject, body = notices.effective_date_needed("Projectvereniging BIE", date(2020, 12, 1))
    assert subject == "Nieuwe ingangsdatum nodig: Projectvereniging BIE"
    assert body == (
        "De geplande ingangsdatum van 1 december 2020 voor het traject om Projectvereniging BIE "
        "in te kantelen in DVV Midwest is voorbij. Leg een nieuwe ingangsdatum vast."
    )


def test_a_revised_round_says_what_changed() -> None:
    said = {
        (before, after): notices.round_revised(
            ROUND, ARCHIEF, "Tielt", date(2041, 2, 3), before, after
        )[1]
        for before, after in (("approved", "approved"), ("rejected", "approved"))
    } | {
        ("approved", "rejected"): notices.round_revised(
            ROUND, ARCHIEF, "Tielt", date(2041, 2, 3), "approved", "rejected"
        )[1]
    }
    assert said[("approved", "approved")].endswith("De uitslag blijft dezelfde.")
    assert said[("rejected", "approved")].endswith("De ronde is alsnog goedgekeurd.")
    assert "niet overeind" in said[("approved", "rejected")]
    assert all("de beslissing van Tielt" in body for body in said.values())


def test_every_notice_writes_its_date_out() -> None:
    day = date(2041, 2, 3)
    dated = [
        notices.reminder(ROUND, ARCHIEF, day),
        notices.escalation(ROUND, ARCHIEF, day),
        notices.round_closed(ROUND, ARCHIEF, day, ["Tielt"]),
        notices.effective_date_needed(ARCHIEF, day),
        notices.round_revised(ROUND, ARCHIEF, "Tielt", day, "rejected", "approved"),
    ]
    for subject, body in dated:
        assert "3 februari 2041" in body
        for text in (subject, body):
            assert not ISO.search(text), text
            assert "workflow" not in text.lower()


# Modules whose use would make a replay differ or reach outside the process.
_FORBIDDEN_MODULES = {"os", "sys", "time", "random", "pathlib", "io", "socket", "subprocess"}
_FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "getenv"}


def test_phrasing_is_pure_enough_for_the_workflow_sandbox() -> None:
    files = sorted(PHRASING.glob("*.py"))
    assert {f.name for f in files} >= {"dates.py", "notices.py", "verdicts.py", "words.py"}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    top = name.split(".")[0]
                    assert top in {"phrasing", "schemas", "__future__"} or (
                        top in sys.stdlib_module_names and top not in _FORBIDDEN_MODULES
                    ), f"{path.name} imports {name}"
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert called not in _FORBIDDEN_CALLS, f"{path.name} calls {called}()"
