"""The association's decision as an LBLOD besluitenlijst: valid against the publication
profile's shapes (lblod/shapes, pyshacl) and read back by the reader."""

from __future__ import annotations

from datetime import date

import pytest
from rdflib import Graph

from lblod.model import Missing
from lblod.profiles import Profile
from lblod.publisher import NotPublishable, publish
from lblod.reader import read_publication
from lblod.validate import validate_graph, validate_html
from schemas.common import CooperationKind, Lane, StepKind
from schemas.template import Phase
from schemas.trajectory import PartyDecision, StepStatus, StepView, TrajectoryStatus


def _status(decided: bool = True) -> TrajectoryStatus:
    decision = {
        "authority_id": "dvv-midwest-rvb",
        "outcome": "approve",
        "session_date": "2027-03-02",
        "reference": "RvB-2027-03",
        "step_id": "board-principle",
        "votes_for": 9,
        "votes_against": 1,
        "votes_abstained": 2,
        "recorded_by": "Secretariaat Midwest",
    }
    party = PartyDecision.model_validate(
        {
            "authority_id": "dvv-midwest-rvb",
            "outcome": "approve" if decided else None,
            "decision": decision if decided else None,
        }
    )
    step = StepView(
        id="board-principle",
        title="Principebeslissing raad van bestuur",
        lane=Lane.APPROVALS,
        kind=StepKind.DECISION,
        phase=next(iter(Phase)),
        status=StepStatus.DONE if decided else StepStatus.OPEN,
        round_number=1,
        parties=(party,),
    )
    return TrajectoryStatus(
        workflow_id="inkanteling-regionaal-sportoverleg",
        cooperation_id="regionaal-sportoverleg",
        cooperation_name="Regionaal Sportoverleg",
        kind=CooperationKind.INFORMAL_OVERLEG,
        template_version=1,
        phase=next(iter(Phase)),
        today=date(2027, 3, 3),
        started_on=date(2027, 1, 4),
        planned_av_date=date(2027, 6, 15),
        effective_date=date(2028, 1, 1),
        needs_effective_date=False,
        participants=(),
        steps=(step,),
        pending_authorities=(),
        overdue=False,
        next_deadline=None,
        timeline=(),
        rejected_messages=0,
    )


def test_published_decision_validates_and_reads_back() -> None:
    page = publish(_status(), "board-principle", published_on=date(2027, 3, 4))
    html = page.html.encode()
    for profile in (Profile.BESLUITENLIJST, Profile.AGENDA):
        report = validate_html(html, "https://www.midwest.be/lblod/rvb.html", profile)
        assert report.conforms, report.violations
    publication = read_publication(html, "rvb.html")
    assert (publication.counts.besluit, publication.counts.stemming) == (1, 1)
    (decision,) = publication.decisions
    assert decision.besluit_uri == page.besluit_uri
    assert decision.votes[0].votes_for == 9 and decision.votes[0].votes_against == 1
    assert decision.votes[0].result == "goedgekeurd"
    assert decision.missing == ()
    assert publication.sessions[0].session_date == date(2027, 3, 2)
    # Publishing again gives the same page.
    assert publish(_status(), "board-principle", published_on=date(2027, 3, 4)) == page


def test_a_council_reading_lacks_what_the_shapes_ask() -> None:
    # Real publications do not conform: the shapes report what they lack (Essen's counts).
    from tests.support.lblod import ESSEN, fixture_bytes

    report = validate_html(fixture_bytes(ESSEN), "essen.html", Profile.BESLUITENLIJST)
    assert not report.conforms
    assert any(v.path and v.path.endswith("aantalVoorstanders") for v in report.violations) or (
        report.violations
    )
    essen = read_publication(fixture_bytes(ESSEN), ESSEN)
    assert all(Missing.NO_VOTE_COUNTS in d.missing for d in essen.decisions)


def test_the_in_time_body_shape_cannot_be_satisfied() -> None:
    # Every Bestuursorgaan needs an isTijdspecialisatieVan that is itself a Bestuursorgaan:
    # the lasting body at the end of the chain always violates it.
    graph = Graph().parse(
        data="""
        @prefix besluit: <http://data.vlaanderen.be/ns/besluit#> .
        @prefix generiek: <https://data.vlaanderen.be/ns/generiek#> .
        <http://x.example/in-time> a besluit:Bestuursorgaan ;
            generiek:isTijdspecialisatieVan <http://x.example/lasting> .
        <http://x.example/lasting> a besluit:Bestuursorgaan .
        """,
        format="turtle",
    )
    report = validate_graph(graph, Profile.BESLUITENLIJST)
    assert [v.focus for v in report.unsatisfiable] == ["http://x.example/lasting"]


def test_only_the_association_s_recorded_decisions_are_published() -> None:
    with pytest.raises(NotPublishable, match="has not decided yet"):
        publish(_status(decided=False), "board-principle", published_on=date(2027, 3, 4))
    with pytest.raises(NotPublishable, match="no step"):
        publish(_status(), "council-round", published_on=date(2027, 3, 4))
