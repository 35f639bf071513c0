"""Counting and listing in Dutch: the number decides the noun, and a list ends in "en"."""

from __future__ import annotations

from collections.abc import Sequence


def count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def enumerate_nl(items: Sequence[str]) -> str:
    """'a', 'a en b', 'a, b en c': the Dutch list without an Oxford comma."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " en " + items[-1]
