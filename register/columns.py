"""Header names people write, in English or in Dutch, mapped to the register's fields.

One alias table per kind of file. Names are compared after folding case and accents and
dropping everything but letters and digits, so "Oprichtingsdatum", "oprichtings_datum" and
"Aantal gemeenten" all match; an unknown name is reported with the nearest known ones.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping

from register.entities import AUTHORITIES, COOPERATIONS, Entity

# field -> the Dutch names it is known by (the English field name is always accepted too).
# The Dutch names are the headings of the 2013/2017 fiche.
ALIASES: Mapping[Entity, Mapping[str, tuple[str, ...]]] = {
    Entity.COOPERATION: {
        "id": ("register-id", "code"),
        "name": ("naam", "naam samenwerkingsverband"),
        "kind": ("soort", "soort samenwerking"),
        "contact_point": ("aanspreekpunt", "contactpunt"),
        "domain": ("domein",),
        "core_task": ("kernopdracht", "kerntaak"),
        "cooperation_type": ("type samenwerkingsverband", "type samenwerking"),
        "inter_organisational_form": ("interorganisatorische vorm",),
        "legal_form": ("juridische vorm", "rechtsvorm"),
        "partners": ("inhoudelijke partners",),
        "financing": ("financiering",),
        "initiator": ("initiatiefnemer",),
        "founding_date": ("oprichtingsdatum", "datum oprichting"),
        "municipality_count": ("aantal gemeenten", "aantal besturen"),
        "area": ("werkingsgebied",),
        "seat": ("zetel",),
        "staff_count": (
            "aantal tewerkgestelde personeelsleden",
            "aantal personeelsleden",
            "personeel",
        ),
        "remarks": ("bijkomende informatie", "opmerkingen"),
        "members": ("leden", "deelnemers", "deelnemende besturen"),
        # "opgestart met een lokaal bestuur als trekkende gemeente" (the account, 3.2.4)
        "host": ("trekkende gemeente", "trekker", "trekkend bestuur"),
    },
    Entity.AUTHORITY: {
        "id": ("register-id", "code"),
        "name": ("naam",),
        "kind": ("soort", "soort bestuur"),
        "is_midwest_member": ("lid van midwest", "midwest-lid", "lid"),
        "votes": ("stemmen", "aantal stemmen"),
        "website": ("webstek", "site"),
    },
}


def fold(name: str) -> str:
    """The comparable form of a header name: no case, no accents, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _lookup(entity: Entity) -> dict[str, str]:
    fields = (COOPERATIONS if entity is Entity.COOPERATION else AUTHORITIES).fields
    table: dict[str, str] = {}
    for field in fields:
        for name in (field, *ALIASES[entity].get(field, ())):
            key = fold(name)
            # Two fields sharing a name would make a header mean two things.
            assert table.get(key, field) == field, f"{name!r} names two fields"
            table[key] = field
    return table


_LOOKUP = {entity: _lookup(entity) for entity in Entity}


def field_for(entity: Entity, header_name: str) -> str | None:
    """The field a header name means, or None."""
    return _LOOKUP[entity].get(fold(header_name))


def known_names(entity: Entity) -> list[str]:
    """Every field with its Dutch names, for help and error messages."""
    return [
        f"{field} ({', '.join(names)})" if names else field
        for field, names in ALIASES[entity].items()
    ]


def nearest(entity: Entity, header_name: str, limit: int = 3) -> list[str]:
    """The known names closest to an unknown one, as 'name (field)' or 'field'."""
    spelled = {fold(name): name for field in ALIASES[entity] for name in _names(entity, field)}
    close = difflib.get_close_matches(fold(header_name), list(spelled), n=limit, cutoff=0.6)
    shown: dict[str, str] = {}  # one suggestion per field, the closest spelling
    for key in close:
        field = _LOOKUP[entity][key]
        name = spelled[key]
        shown.setdefault(field, name if name == field else f"{name} ({field})")
    return list(shown.values())


def _names(entity: Entity, field: str) -> tuple[str, ...]:
    return (field, *ALIASES[entity][field])
