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
import json.decoder
import json.scanner
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from db.connect import DbConnection
from db.register import get_cooperation, known_ids, list_authorities
from register.entities import Entity
from register.suggest import suggest
from rules.lead_times import earliest_assembly, lead_time_breaches
from rules.template_fit import applicable, fit_problems
from schemas.common import (
    AuthorityKind,
    CooperationKind,
    CooperationStatus,
    RegisterId,
    ShortText,
)
from schemas.deadlines import DeadlineCatalogue
from schemas.register import Authority, IsoDate
from schemas.template import Template
from schemas.trajectory import (
    Asset,
    Calendar,
    MergedStructure,
    Participant,
    StaffMember,
    TrajectoryRequest,
)
from templates.loader import load_template

# A problem with one input: the field (dotted path) and what is wrong with it.
Problem = tuple[str, str]


class UnknownCooperation(LookupError):
    """No cooperation with this id in the register; `suggestions`: the ids nearest to it."""

    def __init__(self, cooperation_id: str, suggestions: Sequence[str] = ()) -> None:
        self.suggestions = tuple(suggestions)
        super().__init__(cooperation_id)


class UnknownAuthorities(LookupError):
    """Authority ids that the register does not know; `suggestions`: for each, the known ids
    nearest to it (typing `bie` for `projectvereniging-bie`)."""

    def __init__(
        self, ids: Sequence[str], suggestions: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.ids = tuple(ids)
        self.suggestions = {i: tuple((suggestions or {}).get(i, ())) for i in self.ids}
        super().__init__(f"unknown authorit{'y' if len(ids) == 1 else 'ies'}: {', '.join(ids)}")


class TrajectoryExists(RuntimeError):
    """A live trajectory already runs for the cooperation."""


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
    host: RegisterId | None = None
    merged: tuple[MergedStructure, ...] | None = None
    continues_as: ShortText | None = None
    project_call: bool | None = None

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
        given = StartInput.model_validate(merged)
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None
    problems = repeated_staff(given.staff or ())
    if problems:
        raise InvalidRequest(problems)
    return given


def _person(name: str) -> str:
    """A name as people compare it: case and spacing do not make another person."""
    return " ".join(name.split()).casefold()


def repeated_staff(staff: Sequence[StaffMember]) -> list[Problem]:
    """A staff member listed twice would be transferred (and counted) twice; two people with
    the same name must be told apart in the file (a second given name, an initial)."""
    entries: dict[str, list[int]] = {}
    for index, member in enumerate(staff):
        entries.setdefault(_person(member.name), []).append(index)
    return [
        (
            "staff",
            f"{staff[indexes[0]].name!r} is listed {len(indexes)} times (entries "
            f"{', '.join(str(i + 1) for i in indexes)}); list each person once",
        )
        for indexes in entries.values()
        if len(indexes) > 1
    ]


# --- files ------------------------------------------------------------------------------------


def read_data_file(path: Path) -> Any:
    """A JSON or YAML document (YAML unless the name ends in .json), read strictly: a key
    given twice in one object is refused with its line (the parsers would keep the last one
    silently), and so is a YAML alias of a block (below)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest([(str(path), f"cannot read: {exc}")]) from None
    is_json = path.suffix.lower() == ".json"
    try:
        data, problems = _strict_json(text) if is_json else _strict_yaml(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            [(f"{path}, line {exc.lineno}", f"not valid JSON: {exc.msg}")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        # PyYAML's own text spans several lines (with a snippet); one line is enough.
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        what = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise InvalidRequest([(where, f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InvalidRequest([(str(path), f"not valid YAML: {exc}")]) from None
    if problems:
        raise InvalidRequest([(f"{path}, line {line}", message) for line, message in problems])
    return data


# A problem found while parsing: the line (1-based) and what is wrong there.
LineProblem = tuple[int, str]


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that notes, instead of overwriting, a key given twice in a mapping, and
    refuses an alias of a mapping or a list. An alias repeats a whole block: a staff entry
    through `*an` would be the same person twice, and nested aliases can make a small file
    expand enormously. Aliases of single values (a date) stay allowed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[LineProblem] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *block` is an alias of a block, refused in compose_node
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool | date) and key in seen:
                self.problems.append(
                    (line, f"key {key!r} is given twice in one object (first on line {seen[key]})")
                )
            elif isinstance(key, str | int | float | bool | date):
                seen[key] = line
        return super().construct_mapping(node, deep)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchored = self.anchors.get(event.anchor)
            if isinstance(anchored, yaml.MappingNode | yaml.SequenceNode):
                self.problems.append(
                    (
                        event.start_mark.line + 1,
                        f"alias *{event.anchor} repeats a whole block; write each entry out "
                        "(a repeated staff member or asset would count twice)",
                    )
                )
        return super().compose_node(parent, index)


def _strict_yaml(text: str) -> tuple[Any, list[LineProblem]]:
    loader = _StrictYamlLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, sorted(set(loader.problems))


def _strict_json(text: str) -> tuple[Any, list[LineProblem]]:
    """json.loads, but a key given twice in an object is noted with its line. The pure-Python
    scanner lets us see where each value starts; json's object_pairs_hook alone sees only the
    pairs, not where they were."""
    problems: list[LineProblem] = []

    def parse_object(
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: Callable[[str, int], tuple[Any, int]],
        object_hook: Any,
        object_pairs_hook: Any,
        memo: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], int]:
        text = s_and_end[0]
        starts: list[int] = []  # where each value of this object starts, in order

        def scan_value(string: str, index: int) -> tuple[Any, int]:
            starts.append(index)
            return scan_once(string, index)

        def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            first: dict[str, int] = {}
            for (key, _), at in zip(pairs, starts, strict=False):
                line = text.count("\n", 0, at) + 1
                if key in first:
                    problems.append(
                        (
                            line,
                            f"key {key!r} is given twice in one object (first on line "
                            f"{first[key]})",
                        )
                    )
                else:
                    first[key] = line
            return dict(pairs)

        result: tuple[dict[str, Any], int] = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, scan_value, None, pairs_hook, memo
        )
        return result

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text), sorted(set(problems))


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
        raise UnknownAuthorities(unknown, {i: suggest(i, known) for i in unknown})
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
        known = await known_ids(conn, Entity.COOPERATION)
        raise UnknownCooperation(given.cooperation_id, suggest(given.cooperation_id, known))
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
    if given.calendar is not None and given.calendar.starts_on not in (None, today):
        problems.append(
            (
                "calendar.starts_on",
                f"a trajectory starts today ({today}); only a scenario replays a case from "
                "other dates (starter.py scenario run NAME)",
            )
        )
    if given.planned_av_date is not None and given.planned_av_date <= today:
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
        "members": await members_of_the_association(conn),
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
    for optional in ("merged", "continues_as", "project_call"):
        if getattr(given, optional) is not None:
            fields[optional] = getattr(given, optional)
    if cooperation.kind is CooperationKind.SHARED_SERVICE:
        fields["host"] = given.host or cooperation.host
    try:
        request = TrajectoryRequest.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None
    template = applicable(load_template(request.kind), request)
    misfits = fit_problems(template, request) + await _merged_problems(conn, request)
    if misfits:
        raise InvalidRequest(misfits)
    check_lead_times(request, template, today)
    return request


async def _merged_problems(conn: DbConnection, request: TrajectoryRequest) -> list[Problem]:
    """A merged cooperation must be in the register and not have ended or been integrated."""
    problems: list[Problem] = []
    for merged in request.merged:
        cooperation = await get_cooperation(conn, merged.cooperation_id)
        if cooperation is None:
            known = await known_ids(conn, Entity.COOPERATION)
            hint = suggest(merged.cooperation_id, known)
            problems.append(
                (
                    "merged",
                    f"no cooperation {merged.cooperation_id!r} in the register"
                    + (f"; did you mean {', '.join(hint)}?" if hint else ""),
                )
            )
        elif cooperation.status is not CooperationStatus.ACTIVE:
            problems.append(
                (
                    "merged",
                    f"{merged.cooperation_id} is {cooperation.status.value}; only an active "
                    "cooperation can be merged in",
                )
            )
    return problems


def check_lead_times(request: TrajectoryRequest, template: Template, today: date) -> None:
    """Refuse a planned assembly that the template's legal lead times cannot reach from
    today, naming each rule it breaks and the earliest assembly that can."""
    catalogue = request.deadlines
    if request.planned_av_date is None:
        return  # a route without a general assembly has no lead time to it
    breaches = lead_time_breaches(template, catalogue, today, request.planned_av_date)
    if not breaches:
        return
    earliest = earliest_assembly(template, catalogue, today)
    advice = (
        f"the earliest possible general assembly is {earliest}"
        if earliest is not None
        else "no general assembly within five years meets them"
    )
    raise InvalidRequest(
        [
            (
                "planned_av_date",
                f"{request.planned_av_date} cannot meet the legal lead times from today "
                f"({today}); {advice}",
            ),
            *(("planned_av_date", breach.describe(catalogue)) for breach in breaches),
        ]
    )


async def members_of_the_association(conn: DbConnection) -> tuple[Participant, ...]:
    """Every member of DVV Midwest as the register lists them (the 16 municipalities and
    WVI): they decide a statute or activity change of the association."""
    return tuple(
        participant_from(a)
        for a in await list_authorities(conn)
        if a.is_midwest_member and a.kind is not AuthorityKind.DVV_BODY
    )
