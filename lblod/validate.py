"""Check a publication against the LBLOD publication profile's SHACL shapes (lblod/shapes,
from lblod/lib-decision-validation) with pyshacl.

Used for what the association publishes (it must conform) and as a report of what a harvested
publication lacks; never as a gate for reading a council's publication, since real ones do
not all conform (Torhout's minutes give about a hundred violations).
"""

from __future__ import annotations

import pyshacl
from pydantic import BaseModel, ConfigDict
from rdflib import BNode, Graph, Namespace
from rdflib.namespace import RDF

from lblod.profiles import Profile
from lblod.reader import distil

SH = Namespace("http://www.w3.org/ns/shacl#")

# A shape no finite publication satisfies: it asks every besluit:Bestuursorgaan (the lasting
# body too) for an isTijdspecialisatieVan whose value is itself a Bestuursorgaan, so the
# chain never ends. Its violations are reported apart, as `unsatisfiable`, and do not count
# against conformance. tests/test_lblod_publish.py shows the regress on a minimal graph.
UNSATISFIABLE_SHAPES = frozenset(
    {
        "https://data.vlaanderen.be/shacl/mandatendatabank#"
        "Bestuursorgaan(inbestuursperiode)Shape-ea7c3478-b4d1-48ce-bdef-270408772d1e"
    }
)


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    focus: str
    path: str | None
    message: str


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    profile: Profile
    violations: tuple[Violation, ...]
    unsatisfiable: tuple[Violation, ...] = ()  # of UNSATISFIABLE_SHAPES

    @property
    def conforms(self) -> bool:
        return not self.violations


def validate_graph(graph: Graph, profile: Profile) -> Report:
    shapes = Graph().parse(profile.shapes_file, format="turtle")
    _, results, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
    assert isinstance(results, Graph)
    violations: list[Violation] = []
    unsatisfiable: list[Violation] = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        path = results.value(result, SH.resultPath)
        source = results.value(result, SH.sourceShape)
        node_shapes = {str(s) for s in shapes.subjects(SH.property, source)} | {str(source)}
        violation = Violation(
            focus=str(results.value(result, SH.focusNode)),
            path=str(path) if path is not None and not isinstance(path, BNode) else None,
            message=str(results.value(result, SH.resultMessage) or ""),
        )
        (unsatisfiable if node_shapes & UNSATISFIABLE_SHAPES else violations).append(violation)

    def ordered(items: list[Violation]) -> tuple[Violation, ...]:
        return tuple(sorted(items, key=lambda v: (v.focus, v.path or "", v.message)))

    return Report(
        profile=profile, violations=ordered(violations), unsatisfiable=ordered(unsatisfiable)
    )


def validate_html(html: bytes, base: str, profile: Profile) -> Report:
    graph, _ = distil(html, base)
    return validate_graph(graph, profile)
