"""Turn what a coordinator gives (command-line options, a request file) into a
`TrajectoryRequest`, checked against the register.

The register is the source of truth for the cooperation's name and kind and for each
participant's name, kind, membership and votes: a request names them by id only. Problems
come back as exceptions a caller can map to exit codes: an id the register does not know
(`UnknownCooperation`, `UnknownAuthorities`) or a value that is wrong (`InvalidRequest`,
every problem with the field it concerns).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from db.connect import DbConnection
from db.register import get_cooperation, list_authorities
from schemas.common import AuthorityKind, CooperationStatus, RegisterId, ShortText
from schemas.deadlines import DeadlineCatalogue
from schemas.register import Authority, IsoDate
from schemas.trajectory import Asset, Calendar, Participant, StaffMember, TrajectoryRequest

# A problem with one input: the field (dotted path) and what is wrong with it.
Problem = tuple[str, str]


class UnknownCooperation(LookupError):
    """No cooperation with this id in the register."""


class UnknownAuthorities(LookupError):
    """Authority ids that the register does not know."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"unknown authorit{'y' if len(ids) == 1 else 'ies'}: {', '.join(ids)}")


class InvalidRequest(ValueError):
    """One or more values are wrong; `problems` names the field of each."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems))


def problems_of(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """pydantic's errors as (field path, message); a model-level error gets the prefix alone."""
    found: list[Problem] = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        field = ".".join(part for part in (prefix, path) if part) or "request"
        message = str(error["msg"]).removeprefix("Value error, ")
        found.append((field, message))
    return found


class _ParticipantRef(BaseModel):
    """A participant named in a request file: only its id counts (the rest is the register's),
    so a Participant copied from a status may be pasted as it is."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    authority_id: RegisterId


class StartInput(BaseModel):
    """What a request file or the `start` options may give; every field is optional here and
    the missing ones are filled from the register or reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cooperation_id: RegisterId | None = None
    participants: tuple[RegisterId | _ParticipantRef, ...] | None = None
    planned_av_date: IsoDate | None = None
    effective_date: IsoDate | None = None
    staff: tuple[StaffMember, ...] | None = None
    assets: tuple[Asset, ...] | None = None
    coordinator: ShortText | None = None
    deadlines: DeadlineCatalogue | None = None
    calendar: Calendar | None = None

    def participant_ids(self) -> tuple[str, ...] | None:
        if self.participants is None:
            return None
        return tuple(p if isinstance(p, str) else p.authority_id for p in self.participants)


def parse_start_input(layers: Sequence[Mapping[str, Any]]) -> StartInput:
    """Merge the layers (a request file, then the options), later ones winning where they
    give a value (None gives nothing), and validate the result."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value is not None})
    try:
        return StartInput.model_validate(merged)
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None


# --- files ------------------------------------------------------------------------------------


def read_data_file(path: Path) -> Any:
    """A JSON or YAML document (YAML unless the name ends in .json)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest([(str(path), f"cannot read: {exc}")]) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise InvalidRequest([(str(path), f"not valid {kind}: {exc}")]) from None


def read_mapping_file(path: Path) -> dict[str, Any]:
    data = read_data_file(path)
    if not isinstance(data, dict):
        raise InvalidRequest([(str(path), "must hold an object (field: value, ...)")])
    return data


def read_list_file(path: Path) -> list[Any]:
    data = read_data_file(path)
    if not isinstance(data, list):
        raise InvalidRequest([(str(path), "must hold a list")])
    return data


# --- the register -----------------------------------------------------------------------------


def participant_from(authority: Authority) -> Participant:
    return Participant(
        authority_id=authority.id,
        name=authority.name,
        kind=authority.kind,
        is_midwest_member=authority.is_midwest_member,
        votes=authority.votes,
    )


async def participants_for(conn: DbConnection, ids: Sequence[str]) -> tuple[Participant, ...]:
    """Participants in the given order, from the register; UnknownAuthorities otherwise."""
    known = {a.id: a for a in await list_authorities(conn)}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UnknownAuthorities(unknown)
    # The association's own bodies decide in their own steps, never as a party to the round.
    bodies = [i for i in ids if known[i].kind is AuthorityKind.DVV_BODY]
    if bodies:
        raise InvalidRequest(
            [("participants", f"{', '.join(bodies)}: a body of DVV Midwest, not a participant")]
        )
    return tuple(participant_from(known[i]) for i in ids)


async def build_request(
    conn: DbConnection, given: StartInput, *, today: date, coordinator: str
) -> TrajectoryRequest:
    """The full request, or the first class of problem found: unknown ids before bad values.

    `today` is the wall-clock date of the caller (never read inside workflow code);
    `coordinator` is used when `given` names none."""
    if given.cooperation_id is None:
        raise InvalidRequest([("cooperation_id", "name the cooperation to start a trajectory for")])
    cooperation = await get_cooperation(conn, given.cooperation_id)
    if cooperation is None:
        raise UnknownCooperation(given.cooperation_id)
    if cooperation.status in (CooperationStatus.INTEGRATED, CooperationStatus.DISSOLVED):
        since = f" on {cooperation.integrated_on}" if cooperation.integrated_on else ""
        raise InvalidRequest(
            [
                (
                    "cooperation_id",
                    f"{cooperation.id} is {cooperation.status.value}{since}; "
                    "there is nothing left to integrate",
                )
            ]
        )
    ids = given.participant_ids() or cooperation.members
    if not ids:
        raise InvalidRequest(
            [("participants", f"the register lists no members of {cooperation.id}; name them")]
        )
    participants = await participants_for(conn, ids)

    problems: list[Problem] = []
    if given.planned_av_date is None:
        problems.append(("planned_av_date", "the date of the general assembly is required"))
    elif given.planned_av_date <= today:
        problems.append(
            (
                "planned_av_date",
                f"{given.planned_av_date} must lie in the future (today is {today})",
            )
        )
    if given.effective_date is None:
        problems.append(("effective_date", "the effective date is required"))
    if problems:
        raise InvalidRequest(problems)

    fields: dict[str, Any] = {
        "cooperation_id": cooperation.id,
        "cooperation_name": cooperation.name,
        "kind": cooperation.kind,
        "participants": participants,
        "planned_av_date": given.planned_av_date,
        "effective_date": given.effective_date,
        "staff": given.staff or (),
        "assets": given.assets or (),
        "coordinator": given.coordinator or coordinator,
    }
    if given.deadlines is not None:
        fields["deadlines"] = given.deadlines
    if given.calendar is not None:
        fields["calendar"] = given.calendar
    try:
        return TrajectoryRequest.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None
