"""The register ids nearest to one that is not in the register, for "did you mean" in errors.

Pure: the caller reads the known ids (db.register.register_ids) and words the message with
`unknown_id_message`. Ids are short slugs whose parts are words ("projectvereniging-bie"), and
people type one part ("bie") as often as they misspell the whole ("roeselaere"), so a match
is looked for in three ways, best first:

1. the same id once case and separators are ignored ("Wijk_Werken", "wijkwerken"): then it
   is the only suggestion;
2. a whole part of the id ("bie", "archiefteam"), then any piece of at least three characters
   of it ("sportoverl"), or the other way round (the given text holds a known id: "wvi-raad");
3. a spelling close enough by difflib's ratio ("roeselaere", "izegen"), only the closest
   ones and only when no id matched in the first two ways.

Fewer than three characters match only by spelling: "e" is a piece of nearly every id.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# How many ids a message names at most: more is a list, not a suggestion.
LIMIT = 3
# difflib's ratio from which a spelling counts as close; its own default, tried on the register
# ids: "roeselaere" -> roeselare, "atlantis" -> nothing.
CUTOFF = 0.6
# The shortest text that may match as a piece of an id.
MIN_PIECE = 3
# A spelling match this much less close than the closest is left out: "roeselaere" suggests
# roeselare (0.95), not ruiselede (0.63) as well.
MARGIN = 0.1

_SEPARATORS = re.compile(r"[^a-z0-9]+")


def _folded(text: str) -> str:
    return _SEPARATORS.sub("", text.casefold())


def _parts(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text.casefold()) if part]


def suggest(given: str, known: Iterable[str], limit: int = LIMIT) -> list[str]:
    """The known ids nearest to `given`, best first, at most `limit`; [] when none is near.
    An id that is itself known is not suggested (there is nothing to correct)."""
    ids = sorted(set(known))
    if given in ids or limit < 1:
        return []
    folded = _folded(given)
    if not folded:
        return []
    ranked: list[tuple[int, float, str]] = []  # (class, closeness, id), lower class first
    for known_id in ids:
        rank = _rank(given, folded, known_id)
        if rank is not None:
            ranked.append((rank[0], -rank[1], known_id))
    ranked.sort()
    if ranked and ranked[0][0] == 0:
        return [ranked[0][2]]  # the same id but for case and separators: nothing else is nearer
    pieces = [known_id for cls, _, known_id in ranked if cls < 3]
    if pieces:
        return pieces[:limit]  # a spelling that is merely close is noise beside a piece
    floor = -ranked[0][1] - MARGIN if ranked else 0.0
    return [known_id for _, c, known_id in ranked if -c >= floor][:limit]


def _rank(given: str, folded: str, known_id: str) -> tuple[int, float] | None:
    target = _folded(known_id)
    closeness = difflib.SequenceMatcher(None, folded, target).ratio()
    if folded == target:
        return 0, closeness
    if len(folded) >= MIN_PIECE:
        given_parts = _parts(given)
        if any(part in _parts(known_id) for part in given_parts):
            return 1, closeness
        if folded in target or (len(target) >= MIN_PIECE and target in folded):
            return 2, closeness
    if closeness >= CUTOFF:
        return 3, closeness
    return None


def did_you_mean(suggestions: list[str]) -> str:
    """'did you mean a?', 'did you mean a or b?', 'did you mean a, b or c?'."""
    if not suggestions:
        raise ValueError("no suggestions to word")
    if len(suggestions) == 1:
        return f"did you mean {suggestions[0]}?"
    return f"did you mean {', '.join(suggestions[:-1])} or {suggestions[-1]}?"


def unknown_id_message(what: str, given: str, known: Iterable[str], hint: str) -> str:
    """The one-line error for an id that is not in the register.

    With a suggestion: "unknown cooperation 'bie'; did you mean projectvereniging-bie?".
    Without: "no cooperation 'atlantis' in the register; <hint>", the wording the commands used
    before suggestions, which scripts and tests match; `hint` says where the ids are listed
    (e.g. "`starter.py register list` shows the ids")."""
    shown = given if len(given) <= 80 else given[:80] + "…"
    suggestions = suggest(given, known)
    if suggestions:
        return f"unknown {what} {shown!r}; {did_you_mean(suggestions)}"
    return f"no {what} {shown!r} in the register; {hint}"
