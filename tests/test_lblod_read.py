"""Reading the five real publications: what pyRdfa3 finds in each (../shared/lblod/README.md),
what each item lacks, and bad input refused with a clear message."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from lblod.fetch import FetchError, read_file
from lblod.model import Missing
from lblod.reader import MalformedRdfa, NoRdfa, TooLarge, read_publication
from tests.support.lblod import AALTER, ANZEGEM, ERPE_MERE, ESSEN, TORHOUT, fixture_bytes

EXPECTED = {
    # file: (triples, Besluit, Stemming, Zitting, for, against, abstaining, planned start)
    TORHOUT: (1693, 15, 12, 1, 274, 0, 0, "2024-05-27T17:00:00+00:00"),
    ESSEN: (202, 11, 9, 1, 0, 0, 0, "2023-11-28T19:00:37.838000+00:00"),
    ERPE_MERE: (160, 5, 5, 1, 0, 0, 0, "2024-09-24T19:43:00+00:00"),
    AALTER: (596, 0, 32, 1, 0, 0, 0, "2024-05-13T20:00:00+02:00"),
    ANZEGEM: (51, 0, 0, 1, 0, 0, 0, "2024-04-09T19:30:00+02:00"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_match_what_the_readme_lists(name: str) -> None:
    publication = read_publication(fixture_bytes(name), name)
    triples, besluit, stemming, zitting, for_, against, abstained, start = EXPECTED[name]
    c = publication.counts
    assert (c.triples, c.besluit, c.stemming, c.zitting) == (triples, besluit, stemming, zitting)
    assert (c.votes_for, c.votes_against, c.votes_abstained) == (for_, against, abstained)
    (session,) = publication.sessions
    assert session.planned_start == datetime.fromisoformat(start)
    assert session.body is not None


def test_torhout_items_carry_their_besluit_and_votes() -> None:
    publication = read_publication(fixture_bytes(TORHOUT), TORHOUT)
    assert len(publication.decisions) == 15
    assert all(d.besluit_uri for d in publication.decisions)
    voted = [d for d in publication.decisions if d.votes]
    assert len(voted) == 12
    assert sum(d.votes[0].votes_for or 0 for d in voted) == 274
    # No result is published (an empty besluit:gevolg): reported, not guessed.
    assert all(Missing.NO_RESULT in d.missing for d in publication.decisions)
    assert publication.decisions[0].title is not None
    assert publication.decisions[0].title.startswith("1 Ontslag raadslid")


def test_what_each_platform_lacks_is_reported_per_item() -> None:
    essen = read_publication(fixture_bytes(ESSEN), ESSEN)
    assert all(Missing.NO_VOTE_COUNTS in d.missing for d in essen.decisions)
    aalter = read_publication(fixture_bytes(AALTER), AALTER)
    assert len(aalter.decisions) == 32
    assert all(Missing.NO_TYPED_BESLUIT in d.missing for d in aalter.decisions)
    assert all(d.reference and d.besluit_uri is None for d in aalter.decisions)
    anzegem = read_publication(fixture_bytes(ANZEGEM), ANZEGEM)
    assert anzegem.decisions
    assert all(d.missing[0] is Missing.NO_DECISION for d in anzegem.decisions)


def test_lasting_and_in_time_bodies_both_name_the_session_body() -> None:
    essen = read_publication(fixture_bytes(ESSEN), ESSEN)
    erpe = read_publication(fixture_bytes(ERPE_MERE), ERPE_MERE)
    essen_body, erpe_body = essen.sessions[0].body, erpe.sessions[0].body
    assert essen_body is not None and essen_body.lasting_uri is not None
    assert erpe_body is not None and erpe_body.specialisations  # LBLODWeb links the other way
    assert len(essen_body.uris) == 2 and len(erpe_body.uris) == 2


def test_a_page_without_rdfa_is_refused() -> None:
    with pytest.raises(NoRdfa, match="no LBLOD RDFa found"):
        read_publication(b"<html><body><h1>Besluitenlijst</h1></body></html>", "plain.html")
    with pytest.raises(NoRdfa):
        read_publication(b"\x00\x01\x02 not html at all", "binary.html")


def test_malformed_rdfa_without_a_session_is_refused() -> None:
    page = (
        b'<html><body prefix="besluit: http://data.vlaanderen.be/ns/besluit#">'
        b'<div resource="http://x.example/b/1" typeof="besluit:Besluit">'
        b'<span property="besluit:aantalVoorstanders" datatype="xsd:integer">twintig</span>'
        b"</div></body></html>"
    )
    with pytest.raises(MalformedRdfa, match="without a session"):
        read_publication(page, "broken.html")


def test_a_50_mb_page_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "groot.html"
    with big.open("wb") as file:
        file.truncate(50 * 1024 * 1024)
    with pytest.raises(TooLarge, match=r"50\.0 MB is more than the 10 MB"):
        read_file(str(big))
    with pytest.raises(TooLarge):
        read_publication(b" " * (50 * 1024 * 1024), "groot.html")
    with pytest.raises(FetchError, match="no such file"):
        read_file(str(tmp_path / "missing.html"))
