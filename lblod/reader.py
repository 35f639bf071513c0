"""Read an LBLOD publication: HTML with RDFa becomes an rdflib graph (pyRdfa3, the W3C RDFa
distiller), and the graph is read in the LBLOD vocabulary. Nothing here looks at the HTML
itself: prefixes, @vocab, chaining and typed literals are the distiller's job.

What the graph does not say is reported per item (`Missing`), never guessed. A page that has
no LBLOD RDFa at all, or whose RDFa cannot be read as a publication, is refused with a message
that says what was found and what to do.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from pyRdfa import Options, pyRdfa  # type: ignore[import-untyped]
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS
from rdflib.term import Node

from lblod.model import (
    AgendaItem,
    Body,
    Counts,
    Missing,
    Publication,
    PublishedDecision,
    Session,
    VoteCount,
)

BESLUIT = Namespace("http://data.vlaanderen.be/ns/besluit#")
MANDAAT = Namespace("http://data.vlaanderen.be/ns/mandaat#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
RDFA = Namespace("http://www.w3.org/ns/rdfa#")

# The bound on what is read, file or URL: real publications are well below 1 MB (the largest
# fixture, minutes with roll-call votes, is 0.4 MB); a page fifty times that is not a council's
# publication, and distilling it would hold a worker for minutes.
MAX_PUBLICATION_BYTES = 10 * 1024 * 1024


class PublicationError(ValueError):
    """The input cannot be read as an LBLOD publication; str() says why and what to do."""


class NoRdfa(PublicationError):
    """The page has no RDFa in the LBLOD vocabulary."""


class MalformedRdfa(PublicationError):
    """The page has LBLOD RDFa, but not in a form that can be read as a publication."""


class TooLarge(PublicationError):
    """The page is larger than MAX_PUBLICATION_BYTES."""


def too_large(source: str, size: int, limit: int = MAX_PUBLICATION_BYTES) -> TooLarge:
    return TooLarge(
        f"{source}: {size / 1024 / 1024:.1f} MB is more than the {limit / 1024 / 1024:g} MB a "
        "publication may have; this is not a council's agenda, besluitenlijst or notulen "
        "(open it in a browser to check the address)"
    )


def read_publication(data: bytes, source: str) -> Publication:
    """The publication in `data` (the bytes of an HTML page), read from `source` (a file name
    or URL, also the base for relative URIs)."""
    if len(data) > MAX_PUBLICATION_BYTES:
        raise too_large(source, len(data))
    graph, errors = distil(data, source)
    if not any(str(p).startswith(str(BESLUIT)) for p in graph.predicates()) and not any(
        str(o).startswith(str(BESLUIT)) for o in graph.objects(None, RDF.type)
    ):
        raise NoRdfa(
            f"{source}: no LBLOD RDFa found ({len(graph)} RDFa triples, none in the besluit "
            "vocabulary); give the page of the agenda, besluitenlijst or notulen itself, as "
            "published by the council's platform"
        )
    sessions = [_session(graph, z) for z in _subjects_of_type(graph, BESLUIT.Zitting)]
    if not sessions:
        details = f"; the RDFa distiller reports: {errors[0]}" if errors else ""
        raise MalformedRdfa(
            f"{source}: LBLOD RDFa without a session (besluit:Zitting){details}; a publication "
            "names the session its decisions were taken in, so this page cannot be read "
            "(ask the council's publishing platform to fix it)"
        )
    decisions = [
        decision
        for zitting in _subjects_of_type(graph, BESLUIT.Zitting)
        for decision in _decisions(graph, zitting)
    ]
    return Publication(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        sessions=tuple(sessions),
        decisions=tuple(decisions),
        counts=_counts(graph),
    )


def distil(data: bytes, base: str) -> tuple[Graph, list[str]]:
    """The RDFa graph of the page and the distiller's errors (warnings are left out: every
    real publication has some, e.g. an image as a data: URI)."""
    processor = Graph()
    options = Options(output_default_graph=True, output_processor_graph=True)
    with _quiet_rdflib():
        graph = pyRdfa(options=options, base=base, media_type="text/html").graph_from_source(
            io.BytesIO(data), pgraph=processor
        )
    errors = [
        str(processor.value(node, DCTERMS.description))
        for node in processor.subjects(RDF.type, RDFA.Error)
    ]
    if not isinstance(graph, Graph):
        raise MalformedRdfa(f"{base}: the page cannot be parsed as HTML")
    return graph, errors


@contextmanager
def _quiet_rdflib() -> Iterator[None]:
    # rdflib logs a warning for every data: URI (inline images) it sees; they are not errors
    # of the publication, and a command's stderr is for its own one-line messages.
    logger = logging.getLogger("rdflib")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- reading the graph --------------------------------------------------------------------


def _subjects_of_type(graph: Graph, cls: URIRef) -> list[Node]:
    return sorted(set(graph.subjects(RDF.type, cls)), key=str)


def _text(graph: Graph, subject: Node, *predicates: URIRef) -> str | None:
    """The first non-empty literal of the first predicate that has one, whitespace folded."""
    for predicate in predicates:
        for value in sorted(graph.objects(subject, predicate), key=str):
            if isinstance(value, Literal):
                text = " ".join(str(value).split())
                if text:
                    return text
    return None


def _uri(graph: Graph, subject: Node, predicate: URIRef) -> str | None:
    values = sorted(str(v) for v in graph.objects(subject, predicate) if isinstance(v, URIRef))
    return values[0] if values else None


def _moment(graph: Graph, subject: Node, predicate: URIRef) -> datetime | None:
    """A published dateTime (or date); a literal that is not a valid one counts as absent."""
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal):
            python = value.toPython()
            if isinstance(python, datetime):
                return python
            if isinstance(python, date):
                return datetime(python.year, python.month, python.day)
    return None


def _count(graph: Graph, subject: Node, predicate: URIRef) -> tuple[int | None, bool]:
    """A vote count and whether it was valid (absent is valid, "twenty" or -1 is not)."""
    values = list(graph.objects(subject, predicate))
    if not values:
        return None, True
    value = values[0]
    python = value.toPython() if isinstance(value, Literal) else None
    if isinstance(python, bool) or not isinstance(python, int):
        try:
            python = int(str(value).strip())
        except ValueError:
            return None, False
    return (python, True) if python >= 0 else (None, False)


def _session(graph: Graph, zitting: Node) -> Session:
    body_node = next(iter(sorted(graph.objects(zitting, BESLUIT.isGehoudenDoor), key=str)), None)
    body = None
    if isinstance(body_node, URIRef):
        lasting = graph.value(body_node, MANDAAT.isTijdspecialisatieVan)
        label = _text(graph, lasting, SKOS.prefLabel) if lasting is not None else None
        specialisations = graph.subjects(MANDAAT.isTijdspecialisatieVan, body_node)
        body = Body(
            uri=str(body_node),
            lasting_uri=str(lasting) if isinstance(lasting, URIRef) else None,
            specialisations=tuple(sorted(str(s) for s in specialisations if isinstance(s, URIRef))),
            label=label or _text(graph, body_node, SKOS.prefLabel),
        )
    return Session(
        uri=str(zitting),
        body=body,
        planned_start=_moment(graph, zitting, BESLUIT.geplandeStart),
        started_at=_moment(graph, zitting, PROV.startedAtTime),
    )


def _in_order(graph: Graph, items: list[Node]) -> list[Node]:
    """Agenda items in their published order (besluit:aangebrachtNa chains them); items the
    chain does not reach follow in URI order."""
    present = set(items)
    after: dict[Node, Node] = {}
    for item in items:
        previous = graph.value(item, BESLUIT.aangebrachtNa)
        if previous in present:
            after[previous] = item
    ordered: list[Node] = []
    for first in (i for i in items if graph.value(i, BESLUIT.aangebrachtNa) not in present):
        node: Node | None = first
        while node is not None and node not in ordered:
            ordered.append(node)
            node = after.get(node)
    return ordered + [i for i in items if i not in ordered]


def _decisions(graph: Graph, zitting: Node) -> Iterator[PublishedDecision]:
    agenda = sorted(set(graph.objects(zitting, BESLUIT.behandelt)), key=str)
    session_missing = (
        ()
        if _moment(graph, zitting, PROV.startedAtTime)
        or _moment(graph, zitting, BESLUIT.geplandeStart)
        else (Missing.NO_SESSION_START,)
    )
    for item in _in_order(graph, agenda):
        treatments = sorted(set(graph.subjects(DCTERMS.subject, item)), key=str)
        agenda_item = AgendaItem(uri=str(item), title=_text(graph, item, DCTERMS.title))
        if not treatments:
            missing = (Missing.NO_DECISION, *session_missing)
            if agenda_item.title is None:
                missing += (Missing.NO_TITLE,)
            yield PublishedDecision(
                session_uri=str(zitting),
                agenda_item=agenda_item,
                title=agenda_item.title,
                missing=missing,
            )
            continue
        for treatment in treatments:
            yield _decision(graph, zitting, agenda_item, treatment, session_missing)


def _decision(
    graph: Graph,
    zitting: Node,
    agenda_item: AgendaItem,
    treatment: Node,
    session_missing: tuple[Missing, ...],
) -> PublishedDecision:
    missing: list[Missing] = list(session_missing)
    generated = sorted(set(graph.objects(treatment, PROV.generated)), key=str)
    generated += sorted(
        set(graph.subjects(PROV.wasGeneratedBy, treatment)) - set(generated), key=str
    )
    besluiten = [g for g in generated if (g, RDF.type, BESLUIT.Besluit) in graph]
    besluit = besluiten[0] if besluiten else None
    other = next((g for g in generated if isinstance(g, URIRef)), None)
    if besluit is None:
        missing.append(Missing.NO_TYPED_BESLUIT if other is not None else Missing.NO_DECISION)
    title = _text(graph, besluit, ELI.title, DCTERMS.title) if besluit is not None else None
    title = title or (_text(graph, other, ELI.title, DCTERMS.title) if other is not None else None)
    title = title or agenda_item.title
    if title is None:
        missing.append(Missing.NO_TITLE)
    votes: list[VoteCount] = []
    for stemming in sorted(set(graph.objects(treatment, BESLUIT.heeftStemming)), key=str):
        votes_for, ok_for = _count(graph, stemming, BESLUIT.aantalVoorstanders)
        against, ok_against = _count(graph, stemming, BESLUIT.aantalTegenstanders)
        abstained, ok_abstained = _count(graph, stemming, BESLUIT.aantalOnthouders)
        if (
            not (ok_for and ok_against and ok_abstained)
            and Missing.INVALID_VOTE_COUNT not in missing
        ):
            missing.append(Missing.INVALID_VOTE_COUNT)
        votes.append(
            VoteCount(
                uri=str(stemming),
                votes_for=votes_for,
                votes_against=against,
                votes_abstained=abstained,
                result=_text(graph, stemming, BESLUIT.gevolg),
            )
        )
    if not any(v.has_counts for v in votes):
        missing.append(Missing.NO_VOTE_COUNTS)
    if not any(v.result for v in votes):
        missing.append(Missing.NO_RESULT)
    return PublishedDecision(
        session_uri=str(zitting),
        agenda_item=agenda_item,
        treatment_uri=str(treatment) if isinstance(treatment, URIRef) else None,
        besluit_uri=str(besluit) if isinstance(besluit, URIRef) else None,
        generated_uri=str(other) if besluit is None and isinstance(other, URIRef) else None,
        title=title,
        votes=tuple(votes),
        missing=tuple(missing),
    )


def _sum(graph: Graph, predicate: URIRef) -> int:
    return sum(_count(graph, s, predicate)[0] or 0 for s in set(graph.subjects(predicate, None)))


def _counts(graph: Graph) -> Counts:
    return Counts(
        triples=len(graph),
        besluit=len(_subjects_of_type(graph, BESLUIT.Besluit)),
        stemming=len(_subjects_of_type(graph, BESLUIT.Stemming)),
        zitting=len(_subjects_of_type(graph, BESLUIT.Zitting)),
        votes_for=_sum(graph, BESLUIT.aantalVoorstanders),
        votes_against=_sum(graph, BESLUIT.aantalTegenstanders),
        votes_abstained=_sum(graph, BESLUIT.aantalOnthouders),
    )
