"""The two kinds of register row people change, described once: cooperations (fiches) and
authorities. Parsing, planning, recording and undo read these specs instead of naming fields.

An *image* is one stored row as plain values, every field present (None for empty), members
as a sorted tuple: what is compared to tell a change, recorded as old and new values, and
written back by an undo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.register import FICHE_FIELDS, HOST, Authority, CooperationFiche

FieldValue = str | int | bool | date | tuple[str, ...]
Image = dict[str, FieldValue | None]

MEMBERS = "members"


class Entity(StrEnum):
    COOPERATION = "cooperation"
    AUTHORITY = "authority"


@dataclass(frozen=True)
class EntitySpec:
    entity: Entity
    noun: str  # in messages: "fiche", "authority"
    fields: tuple[str, ...]  # every field people supply, `id` first, in CSV order
    required: frozenset[str]  # a new row must give them; they can never be cleared
    # Fields a live trajectory depends on: it was started with this kind and these parties.
    guarded_by_trajectory: frozenset[str]
    model: type[BaseModel]
    date_fields: frozenset[str] = frozenset()
    bool_fields: frozenset[str] = frozenset()
    list_fields: frozenset[str] = frozenset()
    # Stored fields that people do not supply (the trajectories maintain them) but that a
    # removal records and its undo puts back, so the row returns as it was.
    stored_only: tuple[str, ...] = ()
    # For an id that is not in the register: what it names ("unknown cooperation 'bie'") and
    # the command that lists the ids.
    id_noun: str = ""
    listed_by: str = ""

    @property
    def image_fields(self) -> tuple[str, ...]:
        return (*self.fields, *self.stored_only)

    def adapter(self, name: str) -> TypeAdapter[Any]:
        """Validates one field's value as the model would, without the rest of the row."""
        return _adapter(self.model, name)

    def validated(self, image: Image) -> Image:
        """The image as the model accepts it (stripped text, checked ranges), or
        pydantic.ValidationError located at the failing field."""
        model = self.model.model_validate({name: image[name] for name in self.fields})
        validated = {name: _plain(name, getattr(model, name)) for name in self.fields}
        return validated | {name: image.get(name) for name in self.stored_only}

    def to_json(self, name: str, value: FieldValue | None) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, tuple):
            return list(value)
        return value

    def from_json(self, name: str, value: Any) -> FieldValue | None:
        if value is None:
            return None
        if name in self.date_fields:
            return date.fromisoformat(value)
        if name in self.list_fields:
            return tuple(sorted(value))
        if isinstance(value, str | int | bool):
            return value
        raise TypeError(f"unexpected recorded value for {name}: {value!r}")


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def _plain(name: str, value: Any) -> FieldValue | None:
    if isinstance(value, Enum):
        return str(value.value)
    if name == MEMBERS:
        return tuple(sorted(value or ()))
    assert value is None or isinstance(value, str | int | bool | date), (name, value)
    return value


# The end facts (migration 0007) are stored-only like the status: the trajectories record them
# (db.register.record_dissolution, record_not_integrated), and a removed fiche comes back with
# them. The host of a shared service is supplied by people, as an optional column.
COOPERATIONS = EntitySpec(
    entity=Entity.COOPERATION,
    noun="fiche",
    fields=(*FICHE_FIELDS, MEMBERS, HOST),
    required=frozenset({"id", "name", "kind"}),
    guarded_by_trajectory=frozenset({"kind", MEMBERS}),
    model=CooperationFiche,
    date_fields=frozenset({"founding_date", "integrated_on", "ended_on"}),
    list_fields=frozenset({MEMBERS}),
    stored_only=("status", "integrated_on", "end_reason", "ended_year", "ended_on", "end_note"),
    id_noun="cooperation",
    listed_by="`starter.py register list` shows the ids",
)

# A new authority states membership and votes: silently defaulting them would weigh a
# municipality from outside the region at the general assembly.
AUTHORITIES = EntitySpec(
    entity=Entity.AUTHORITY,
    noun="authority",
    fields=("id", "name", "kind", "is_midwest_member", "votes", "website"),
    required=frozenset({"id", "name", "kind", "is_midwest_member", "votes"}),
    guarded_by_trajectory=frozenset(),
    model=Authority,
    bool_fields=frozenset({"is_midwest_member"}),
    id_noun="authority",
    listed_by="`starter.py register authorities` lists them",
)

SPECS = {spec.entity: spec for spec in (COOPERATIONS, AUTHORITIES)}
