"""The association's own decisions as an LBLOD besluitenlijst: HTML with RDFa that a person
reads and a machine harvests, valid against the publication profile's shapes (lblod/shapes).

One page per decision of the board (raad van bestuur) or the general assembly on a
trajectory: the Zitting of the body, its Agendapunt, the BehandelingVanAgendapunt that
generated the Besluit (with its URI) and the Stemming with its counts. Every URI is minted
under `base_uri` from register ids and the round, so publishing again gives the same page.
The chair and the secretary are published as the roles' own URIs (the register does not keep
who held them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import quote

from lblod.model import BELGIAN_TIME
from schemas.common import Outcome
from schemas.trajectory import DecisionInput, StepView, TrajectoryStatus

ASSOCIATION_BODIES = {
    "dvv-midwest-rvb": ("Raad van bestuur DVV Midwest", "raad-van-bestuur"),
    "dvv-midwest-av": ("Algemene vergadering DVV Midwest", "algemene-vergadering"),
}
DEFAULT_BASE_URI = "https://www.midwest.be/lblod/id/"

# The language concept the fixtures' platforms publish. The classifications the shapes ask
# for (of the body, of the association, of the agenda item) are minted under the base URI as
# the association's own concepts: the LBLOD code lists' URIs for an association's bodies are
# not known here, and a guessed one would classify the body wrongly.
_DUTCH = "http://publications.europa.eu/resource/authority/language/NLD"

_RESULT_TEXT = {
    Outcome.APPROVE: "goedgekeurd",
    Outcome.REJECT: "afgekeurd",
    Outcome.POSTPONE: "verdaagd",
    Outcome.ABSTAIN: "onthouding",
}


# The page, with ${name} placeholders for escaped values: lblod/besluitenlijst.html.
_TEMPLATE = Template((Path(__file__).parent / "besluitenlijst.html").read_text(encoding="utf-8"))


class NotPublishable(ValueError):
    """The step is not a decision of the association with a recorded decision."""


@dataclass(frozen=True)
class PublishedPage:
    html: str
    besluit_uri: str
    session_uri: str


def _decided(status: TrajectoryStatus, step_id: str) -> tuple[StepView, str, DecisionInput]:
    step = next((s for s in status.steps if s.id == step_id), None)
    if step is None:
        ids = ", ".join(s.id for s in status.steps if s.parties)
        raise NotPublishable(f"{status.workflow_id} has no step {step_id!r}; decision steps: {ids}")
    bodies = [p for p in step.parties if p.authority_id in ASSOCIATION_BODIES]
    if not bodies or len(step.parties) != 1:
        raise NotPublishable(
            f"step {step_id} is not decided by the association's board or general assembly; "
            "councils publish their own decisions"
        )
    (party,) = bodies
    if party.decision is None:
        raise NotPublishable(
            f"step {step_id}: {party.authority_id} has not decided yet; record it with "
            f"`starter.py decide {status.cooperation_id} {party.authority_id} ...` first"
        )
    return step, party.authority_id, party.decision


def _uri(base: str, *parts: str) -> str:
    return base + "/".join(quote(p, safe="") for p in parts)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def publish(
    status: TrajectoryStatus,
    step_id: str,
    *,
    published_on: date,
    base_uri: str = DEFAULT_BASE_URI,
) -> PublishedPage:
    """The besluitenlijst page of the association's decision in `step_id`, published on
    `published_on` (eli:date_publication)."""
    step, body_id, decision = _decided(status, step_id)
    held_on = decision.session_date or step.completed_on
    if held_on is None:
        raise NotPublishable(f"step {step_id}: the decision has no session date to publish")
    base = base_uri if base_uri.endswith("/") else base_uri + "/"
    body_label, body_slug = ASSOCIATION_BODIES[body_id]
    day = held_on.isoformat()
    key = (status.cooperation_id, step.id, f"ronde-{step.round_number or 1}")
    unit = _uri(base, "bestuurseenheden", "dvv-midwest")
    area = _uri(base, "werkingsgebieden", "midwest")
    body = _uri(base, "bestuursorganen", body_slug)
    body_in_time = _uri(base, "bestuursorganen", body_slug, "2025-2030")
    session = _uri(base, "zittingen", body_slug, day)
    item = _uri(base, "agendapunten", *key)
    treatment = _uri(base, "behandelingen", *key)
    besluit = (
        decision.reference
        if decision.reference.startswith(("http://", "https://"))
        else _uri(base, "besluiten", *key)
    )
    vote = _uri(base, "stemmingen", *key)
    chair = _uri(base, "mandatarissen", body_slug, "voorzitter")
    secretary = _uri(base, "functionarissen", body_slug, "secretaris")
    document = _uri(base, "besluitenlijsten", body_slug, day)
    body_kind = _uri(base, "concepten", "bestuursorgaan", body_slug)
    unit_kind = _uri(base, "concepten", "bestuurseenheid", "dienstverlenende-vereniging")
    item_kind = _uri(base, "concepten", "agendapunt", "gepland")
    start = datetime.combine(held_on, time(19, 0), BELGIAN_TIME)
    end = datetime.combine(held_on, time(21, 0), BELGIAN_TIME)
    title = f"{step.title} — inkanteling van {status.cooperation_name} in DVV Midwest"
    result = _RESULT_TEXT[decision.outcome]
    counts = "".join(
        f'<li>{label}: <span property="besluit:{prop}" datatype="xsd:integer" '
        f'content="{value}">{value}</span></li>'
        for label, prop, value in (
            ("Voor", "aantalVoorstanders", decision.votes_for),
            ("Tegen", "aantalTegenstanders", decision.votes_against),
            ("Onthoudingen", "aantalOnthouders", decision.votes_abstained),
        )
        if value is not None
    )
    e = escape
    html = _TEMPLATE.substitute(
        {
            "body_label": e(body_label),
            "body_label_lower": e(body_label.lower()),
            "day": day,
            "published_on": published_on.isoformat(),
            "start": _iso(start),
            "end": _iso(end),
            "title": e(title),
            "result": result,
            "counts": counts,
            "dutch": _DUTCH,
            **{
                name: e(uri)
                for name, uri in {
                    "document": document,
                    "session": session,
                    "body_in_time": body_in_time,
                    "body": body,
                    "body_kind": body_kind,
                    "unit": unit,
                    "unit_kind": unit_kind,
                    "area": area,
                    "chair": chair,
                    "secretary": secretary,
                    "item": item,
                    "item_kind": item_kind,
                    "treatment": treatment,
                    "besluit": besluit,
                    "vote": vote,
                }.items()
            },
        }
    )
    return PublishedPage(html=html, besluit_uri=besluit, session_uri=session)
