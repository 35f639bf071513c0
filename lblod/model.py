"""What the product reads from an LBLOD publication: typed, so that nothing downstream looks
at HTML or RDF again.

A publication (agenda, besluitenlijst or notulen) holds one or more sessions (besluit:Zitting)
of a body (besluit:Bestuursorgaan); each treated agenda item (besluit:BehandelingVanAgendapunt)
generates a decision (besluit:Besluit) and may carry votes (besluit:Stemming). What a
publication lacks is listed per item as a `Missing` reason, never filled in by guessing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

# Session dates are Belgian calendar dates: a session that starts at 00:30 in Brussels is held
# on that day, whatever the UTC date of the published timestamp.
BELGIAN_TIME = ZoneInfo("Europe/Brussels")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Missing(StrEnum):
    """Something a publication does not say about an item; the reader reports it as such."""

    NO_TYPED_BESLUIT = "no-typed-besluit"  # the treatment generates something not typed Besluit
    NO_DECISION = "no-decision"  # the agenda item has no treatment (an agenda, not decisions)
    NO_VOTE_COUNTS = "no-vote-counts"  # no Stemming, or one without aantalVoorstanders/...
    NO_RESULT = "no-result"  # no besluit:gevolg, or an empty one
    NO_SESSION_START = "no-session-start"  # neither prov:startedAtTime nor besluit:geplandeStart
    NO_TITLE = "no-title"  # neither the Besluit nor the Agendapunt has a title
    INVALID_VOTE_COUNT = "invalid-vote-count"  # a count that is not a non-negative integer


MISSING_TEXT: dict[Missing, str] = {
    Missing.NO_TYPED_BESLUIT: "the decision is not typed besluit:Besluit",
    Missing.NO_DECISION: "no decision published for this agenda item",
    Missing.NO_VOTE_COUNTS: "no vote counts published",
    Missing.NO_RESULT: "no result (besluit:gevolg) published",
    Missing.NO_SESSION_START: "the session has no start (planned or actual)",
    Missing.NO_TITLE: "no title published",
    Missing.INVALID_VOTE_COUNT: "a vote count is not a whole number",
}


class Body(_Model):
    """The body holding a session. Publications name a body "in time" (its composition for a
    legislature) that is a specialisation of the lasting body; both URIs identify it."""

    uri: str  # as published in besluit:isGehoudenDoor
    lasting_uri: str | None = None  # what it is a mandaat:isTijdspecialisatieVan
    # Bodies in time that specialise it: LBLODWeb names the lasting body as the session's and
    # links the body in time to it, Gelinkt Notuleren does it the other way round.
    specialisations: tuple[str, ...] = ()
    label: str | None = None

    @property
    def uris(self) -> frozenset[str]:
        """Every URI that names this body in the publication."""
        return frozenset(u for u in (self.uri, self.lasting_uri, *self.specialisations) if u)


class Session(_Model):
    uri: str
    body: Body | None
    planned_start: datetime | None = None
    started_at: datetime | None = None

    @property
    def start(self) -> datetime | None:
        """When the session was held: its actual start, else its planned start."""
        return self.started_at or self.planned_start

    @property
    def session_date(self) -> date | None:
        start = self.start
        if start is None:
            return None
        if start.tzinfo is None:
            return start.date()  # a local time as published
        return start.astimezone(BELGIAN_TIME).date()


class VoteCount(_Model):
    """One besluit:Stemming. A count that is absent is None (not zero)."""

    uri: str
    votes_for: int | None = None
    votes_against: int | None = None
    votes_abstained: int | None = None
    result: str | None = None  # besluit:gevolg as published (free text in every platform)

    @property
    def has_counts(self) -> bool:
        return None not in (self.votes_for, self.votes_against, self.votes_abstained)


class AgendaItem(_Model):
    uri: str
    title: str | None = None


class PublishedDecision(_Model):
    """One agenda item of a session with what was decided on it, as far as published."""

    session_uri: str
    agenda_item: AgendaItem
    treatment_uri: str | None = None  # besluit:BehandelingVanAgendapunt
    besluit_uri: str | None = None  # the typed besluit:Besluit, the decision's own URI
    generated_uri: str | None = None  # what the treatment generates when it is not typed Besluit
    title: str | None = None  # eli:title of the Besluit, else the Agendapunt's title
    votes: tuple[VoteCount, ...] = ()
    missing: tuple[Missing, ...] = ()

    @property
    def reference(self) -> str | None:
        """The URI to record as the decision's reference: the Besluit's, else what the
        treatment generated (published, but not typed), else None."""
        return self.besluit_uri or self.generated_uri

    @property
    def result(self) -> str | None:
        """The published result of the last vote with one (an amendment is voted first)."""
        results = [v.result for v in self.votes if v.result]
        return results[-1] if results else None


class Counts(_Model):
    """Counted by type and property, as ../shared/lblod/README.md counts them."""

    triples: int
    besluit: int
    stemming: int
    zitting: int
    votes_for: int
    votes_against: int
    votes_abstained: int


class Publication(_Model):
    source: str  # the file or URL it was read from
    sha256: str  # of the bytes read: the same URL with other content is another publication
    sessions: tuple[Session, ...]
    decisions: tuple[PublishedDecision, ...]
    counts: Counts

    def session(self, uri: str) -> Session | None:
        return next((s for s in self.sessions if s.uri == uri), None)
