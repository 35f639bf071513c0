"""`starter.py lblod ...`: read councils' LBLOD publications, match them to a trajectory and
record what matched, publish the association's own decisions, and keep the LBLOD side of the
register (bodies, publication addresses, harvesting, agenda-item patterns).

Failures follow cli/common.py: one line on stderr per problem and an exit code
(cli/exit_codes.py): 3 for a page that is no readable publication (no RDFa, malformed RDFa,
too large), 4 when nothing in a publication matches (each reason on its own line), 5 when the
trajectory refuses a decision or nothing recordable was found, 6 for a URL that does not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.common import (
    Progress,
    add_command,
    add_id_argument,
    add_json_flag,
    answer_wait,
    database,
    err,
    print_json,
    register_id,
    run,
    temporal_client,
    user_name,
    workflow_id_from,
)
from cli.exit_codes import ExitCode
from db.lblod import (
    BodyTaken,
    UnknownAuthority,
    UnknownCooperationId,
    add_body,
    cooperation_name,
    get_patterns,
    list_bodies,
    list_sources,
    remove_body,
    set_harvest,
    set_patterns,
    set_source,
)
from lblod import harvest
from lblod.matcher import MatchResult, Proposal, default_patterns
from lblod.model import MISSING_TEXT, Publication
from lblod.outcome import read_result
from lblod.profiles import Profile
from lblod.publisher import DEFAULT_BASE_URI, NotPublishable, publish
from lblod.service import match_trajectory, record
from operations.messages import NOT_DELIVERED
from operations.queries import WorkerTrouble, trajectory_status
from settings import Settings

_MAX_PATTERN = 200


# The RDF stack (rdflib, pyRdfa, pyshacl) and the HTTP client are imported by the commands that
# read a page, not at start: every other command of starter.py would pay a second for them.


def _failed(exc: Exception) -> int:
    """A publication that cannot be had or read: its message, and the code for its kind."""
    from lblod.fetch import FetchError

    err(str(exc))
    return ExitCode.UNAVAILABLE if isinstance(exc, FetchError) else ExitCode.INVALID_INPUT


async def _publication(source: str) -> Publication:
    from lblod.fetch import load
    from lblod.reader import read_publication

    data = await load(source)
    return read_publication(data, source)


def _shapes_report(data: bytes, source: str, profile: Profile) -> dict[str, Any]:
    """What the page lacks against a publication profile, counted per property."""
    from lblod.validate import validate_html

    report = validate_html(data, source, profile)
    by_path = Counter(v.path or v.message for v in report.violations)
    return {
        "profile": profile.value,
        "conforms": report.conforms,
        "violations": len(report.violations),
        "by_property": dict(by_path.most_common()),
    }


# --- read ---------------------------------------------------------------------------------


def _votes_text(p: Any) -> str:
    return f"{p.votes_for} for, {p.votes_against} against, {p.votes_abstained} abstaining"


def _publication_json(publication: Publication) -> dict[str, Any]:
    data = publication.model_dump(mode="json")
    for session, read in zip(data["sessions"], publication.sessions, strict=True):
        session["session_date"] = read.session_date.isoformat() if read.session_date else None
    for item, decision in zip(data["decisions"], publication.decisions, strict=True):
        reading = read_result(decision)
        item["reference"] = decision.reference
        item["result"] = reading.result.value
        item["result_basis"] = reading.basis
    return data


def _print_publication(publication: Publication) -> None:
    counts = publication.counts
    print(
        f"{publication.source}: {counts.zitting} session(s), {len(publication.decisions)} "
        f"agenda item(s), {counts.besluit} Besluit, {counts.stemming} Stemming"
    )
    for session in publication.sessions:
        body = session.body
        print(f"\nsession {session.uri}")
        print(f"  held by:  {body.label or '?'} ({body.uri})" if body else "  held by:  (none)")
        planned = session.planned_start.isoformat() if session.planned_start else "not published"
        started = session.started_at.isoformat() if session.started_at else "not published"
        print(f"  planned start: {planned}; actual start: {started}")
        items = [d for d in publication.decisions if d.session_uri == session.uri]
        for number, item in enumerate(items, start=1):
            print(f"  {number}. {item.title or item.agenda_item.uri}")
            if item.besluit_uri:
                print(f"     Besluit: {item.besluit_uri}")
            elif item.generated_uri:
                print(f"     decision (not typed Besluit): {item.generated_uri}")
            for vote in item.votes:
                counts_text = _votes_text(vote) if vote.has_counts else "no counts"
                print(f"     vote: {counts_text}; result: {vote.result or 'not published'}")
            reading = read_result(item)
            print(f"     read as: {reading.result.value} ({reading.basis})")
            if item.missing:
                print(f"     missing: {'; '.join(MISSING_TEXT[m] for m in item.missing)}")


def _cmd_read(args: argparse.Namespace, settings: Settings) -> int:
    from lblod.fetch import load
    from lblod.reader import PublicationError, read_publication

    async def work() -> int:
        try:
            data = await load(args.source)
            publication = read_publication(data, args.source)
        except PublicationError as exc:
            return _failed(exc)
        shapes = (
            await asyncio.to_thread(_shapes_report, data, args.source, Profile(args.check))
            if args.check
            else None
        )
        if args.json:
            print_json({**_publication_json(publication), "shapes": shapes})
            return ExitCode.OK
        _print_publication(publication)
        if shapes is not None:
            verdict = "conforms" if shapes["conforms"] else f"{shapes['violations']} violations"
            print(f"\nagainst the {shapes['profile']} shapes: {verdict}")
            for path, count in shapes["by_property"].items():
                print(f"  {count} x {path}")
        return ExitCode.OK

    return run(settings, work)


# --- match --------------------------------------------------------------------------------


def _proposal_line(p: Proposal) -> str:
    outcome = p.outcome.value if p.outcome else "UNCLEAR (not recorded; decide it yourself)"
    votes = _votes_text(p.votes) if p.votes.votes_for is not None else "no counts"
    return (
        f"{p.authority_id} {p.step_id}: {outcome}; session {p.session_date}; "
        f"reference {p.reference}; votes {votes}; {p.basis}"
    )


def _match_json(workflow_id: str, result: MatchResult, applied: list[str]) -> dict[str, Any]:
    return {
        "workflow_id": workflow_id,
        "proposals": [
            {**p.model_dump(mode="json"), "recordable": p.recordable} for p in result.proposals
        ],
        "reasons": [r.model_dump(mode="json") for r in result.reasons],
        "recorded": applied,
    }


def _cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    from lblod.reader import PublicationError

    progress = Progress(interrupted="nothing was recorded")

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        try:
            publication = await _publication(args.source)
        except PublicationError as exc:
            return _failed(exc)
        client = await temporal_client(settings)
        async with database(settings) as conn:
            try:
                _, result = await match_trajectory(
                    client, conn, workflow_id, publication, answer_wait(args)
                )
            except WorkerTrouble as exc:
                raise exc.adding(NOT_DELIVERED) from None
        if not result.proposals:
            if args.json:
                print_json(_match_json(workflow_id, result, []))
            for reason in result.reasons:
                err(reason.text)
            return ExitCode.NOT_FOUND
        applied: list[str] = []
        if args.apply:
            recordable = [p for p in result.proposals if p.recordable]
            for proposal in recordable:
                progress.sending("decision", workflow_id)
                ack = await record(client, workflow_id, proposal, publication, answer_wait(args))
                applied.append(f"{proposal.authority_id}: {ack.message}")
        if args.json:
            print_json(_match_json(workflow_id, result, applied))
        else:
            verb = "recorded" if args.apply else "would record"
            for proposal in result.proposals:
                print(f"{verb if proposal.recordable else 'found'}: {_proposal_line(proposal)}")
            for line in applied:
                print(f"  -> {line}")
            for reason in result.reasons:
                print(f"not matched: {reason.text}")
        if args.apply and not applied:
            err(
                "nothing recorded: every result found is unclear; record it with "
                "`starter.py decide`"
            )
            return ExitCode.REFUSED
        return ExitCode.OK

    return run(settings, work, progress=progress)


# --- publish ------------------------------------------------------------------------------


def _cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        step = register_id(args.step, "STEP")
        client = await temporal_client(settings)
        status = (await trajectory_status(client, workflow_id, answer_wait(args))).status
        try:
            page = publish(
                status, step, published_on=datetime.now(UTC).date(), base_uri=args.base_uri
            )
        except NotPublishable as exc:
            err(str(exc))
            return ExitCode.NOT_FOUND
        if args.output:
            await asyncio.to_thread(Path(args.output).write_text, page.html, encoding="utf-8")
            print(f"wrote {args.output}: Besluit {page.besluit_uri}")
        else:
            sys.stdout.write(page.html)
        return ExitCode.OK

    return run(settings, work)


# --- patterns -----------------------------------------------------------------------------


def _cmd_pattern(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        cooperation = workflow_id_from(args.id).removeprefix("inkanteling-")
        wanted = tuple(p.strip() for p in args.set or () if p.strip())
        if args.set is not None and not wanted:
            err("--set: give a non-empty pattern (text an agenda item's title contains)")
            return ExitCode.INVALID_INPUT
        if any(len(p) > _MAX_PATTERN for p in wanted):
            err(f"--set: a pattern has at most {_MAX_PATTERN} characters")
            return ExitCode.INVALID_INPUT
        async with database(settings) as conn:
            try:
                name = await cooperation_name(conn, cooperation)
                if wanted or args.default:
                    await set_patterns(conn, cooperation, wanted or None, args.by)
            except UnknownCooperationId:
                err(f"no cooperation {cooperation!r} in the register; `starter.py register list`")
                return ExitCode.NOT_FOUND
            chosen = await get_patterns(conn, cooperation)
        patterns = chosen or default_patterns(name)
        if args.json:
            print_json(
                {"cooperation_id": cooperation, "patterns": list(patterns), "default": not chosen}
            )
        else:
            origin = "default" if not chosen else "set"
            print(f"{cooperation} ({origin}): " + " | ".join(repr(p) for p in patterns))
        return ExitCode.OK

    return run(settings, work)


# --- register: bodies, sources, harvesting ----------------------------------------------------


def _unknown(authority_id: str) -> int:
    err(f"no authority {authority_id!r} in the register; `starter.py register authorities`")
    return ExitCode.NOT_FOUND


def _http_uri(text: str, what: str) -> str | None:
    value = text.strip()
    if not value.startswith(("http://", "https://")) or " " in value or len(value) > 500:
        err(f"{what}: must be an http(s) URI of at most 500 characters (got {value[:80]!r})")
        return None
    return value


def _cmd_body_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        authority = register_id(args.authority, "AUTHORITY")
        uri = _http_uri(args.uri, "URI")
        if uri is None:
            return ExitCode.INVALID_INPUT
        async with database(settings) as conn:
            try:
                added = await add_body(conn, authority, uri, args.label)
            except UnknownAuthority:
                return _unknown(authority)
            except BodyTaken as exc:
                err(str(exc))
                return ExitCode.CONFLICT
        print(f"{uri} {'registered as' if added else 'was already'} a body of {authority}")
        return ExitCode.OK

    return run(settings, work)


def _cmd_body_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        async with database(settings) as conn:
            removed = await remove_body(conn, args.uri)
        if not removed:
            err(f"{args.uri} is not a registered body; `starter.py lblod bodies` lists them")
            return ExitCode.NOT_FOUND
        print(f"{args.uri} removed")
        return ExitCode.OK

    return run(settings, work)


def _cmd_bodies(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        async with database(settings) as conn:
            bodies = await list_bodies(conn)
            sources = await list_sources(conn)
        if args.json:
            print_json(
                {
                    "bodies": [vars(b) for b in bodies],
                    "sources": [vars(s) for s in sources],
                }
            )
            return ExitCode.OK
        for body in bodies:
            print(f"{body.authority_id}: {body.uri}" + (f" ({body.label})" if body.label else ""))
        for source in sources:
            state = "harvested" if source.harvest else "not harvested"
            print(f"{source.authority_id} publishes at {source.publication_url or '-'} ({state})")
        if not bodies and not sources:
            print("no LBLOD bodies or sources registered; see `starter.py lblod body add --help`")
        return ExitCode.OK

    return run(settings, work)


def _cmd_source(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        authority = register_id(args.authority, "AUTHORITY")
        url = None if args.url == "-" else _http_uri(args.url, "URL")
        if args.url != "-" and url is None:
            return ExitCode.INVALID_INPUT
        async with database(settings) as conn:
            try:
                await set_source(conn, authority, url)
            except UnknownAuthority:
                return _unknown(authority)
        print(f"{authority} publishes at {url}" if url else f"{authority}: publication URL cleared")
        return ExitCode.OK

    return run(settings, work)


def _cmd_harvest(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        authority = register_id(args.authority, "AUTHORITY")
        async with database(settings) as conn:
            try:
                source = await set_harvest(conn, authority, args.state == "on")
            except UnknownAuthority:
                return _unknown(authority)
            except ValueError as exc:
                err(str(exc))
                return ExitCode.INVALID_INPUT
        state = "on" if source.harvest else "off"
        print(f"harvesting {source.publication_url} for {authority}: {state}")
        return ExitCode.OK

    return run(settings, work)


def _cmd_harvester(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        client = await temporal_client(settings)
        if args.state == "on":
            await harvest.turn_on(client, settings.task_queue, args.hour)
            print(
                f"harvester on: daily at {args.hour:02d}:00 (Europe/Brussels), schedule "
                f"{harvest.SCHEDULE_ID}"
            )
        elif args.state == "off":
            existed = await harvest.turn_off(client)
            print("harvester off" if existed else "harvester was off")
        else:
            print("harvester on" if await harvest.is_on(client) else "harvester off")
        return ExitCode.OK

    return run(settings, work)


# --- the parsers --------------------------------------------------------------------------

_GROUP_EPILOG = """\
examples:
  starter.py lblod read https://lblod.torhout.be/.../notulen.html
  starter.py lblod body add izegem http://data.lblod.info/id/bestuursorganen/...
  starter.py lblod match projectvereniging-bie notulen.html            # what would be recorded
  starter.py lblod match projectvereniging-bie notulen.html --apply    # record it
  starter.py lblod pattern projectvereniging-bie --set 'statutenwijziging DVV Midwest'
  starter.py lblod publish projectvereniging-bie board-principle --output rvb.html
  starter.py lblod source izegem https://www.izegem.be/besluitenlijsten && \\
      starter.py lblod harvest izegem on && starter.py lblod harvester on

The RDFa is read with pyRdfa3; docs/lblod.md says what is read and how results are mapped.
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `lblod` group to the starter's command line."""
    group = subparsers.add_parser(
        "lblod",
        help="council decisions from LBLOD publications; the association's published the same way",
        description="Read LBLOD publications (agenda, besluitenlijst, notulen), record the "
        "decisions they publish on a trajectory, and publish the association's decisions.",
        epilog=_GROUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    reader = add_command(
        commands,
        "read",
        "list every decision in a publication, with what it lacks",
        "examples:\n  starter.py lblod read torhout-2024-05-27-notulen.html --json\n"
        "  starter.py lblod read essen-besluitenlijst.html --check besluitenlijst\n",
        _cmd_read,
    )
    reader.add_argument("source", metavar="FILE|URL", help="the publication, saved or online")
    reader.add_argument(
        "--check",
        choices=[p.value for p in Profile],
        help="also report what the page lacks against this publication profile's shapes",
    )
    add_json_flag(reader)

    matcher = add_command(
        commands,
        "match",
        "find the trajectory's decisions in a publication; --apply records them",
        "Each authority with an open decision whose registered body held the session, on the\n"
        "agenda item matching the trajectory's pattern (`lblod pattern`). An unclear result\n"
        "is shown, never recorded. Exit 4 with the reasons when nothing matches.\n\n"
        "example:\n  starter.py lblod match regionaal-sportoverleg notulen.html --apply\n",
        _cmd_match,
    )
    add_id_argument(matcher)
    matcher.add_argument("source", metavar="FILE|URL", help="the publication, saved or online")
    matcher.add_argument("--apply", action="store_true", help="record what matched (decide)")
    add_json_flag(matcher)

    publisher = add_command(
        commands,
        "publish",
        "write the association's decision on a step as an LBLOD besluitenlijst (HTML+RDFa)",
        "For a step decided by the raad van bestuur or the algemene vergadering.\n\n"
        "example:\n  starter.py lblod publish regionaal-sportoverleg board-principle "
        "--output rvb.html\n",
        _cmd_publish,
    )
    add_id_argument(publisher)
    publisher.add_argument("step", metavar="STEP", help="the decision step")
    publisher.add_argument("--output", metavar="FILE", help="write here (default: stdout)")
    publisher.add_argument(
        "--base-uri",
        default=DEFAULT_BASE_URI,
        metavar="URI",
        help=f"where the association's URIs live (default {DEFAULT_BASE_URI})",
    )

    pattern = add_command(
        commands,
        "pattern",
        "show or set the agenda-item patterns a trajectory looks for",
        "Without options: show them. An item matches when its title contains one of them\n"
        "(case and accents ignored). Default: the cooperation's name and\n"
        "'statutenwijziging DVV Midwest'. Options rather than a `set` word, so that a pattern\n"
        "can never be mistaken for a command.\n\n"
        "examples:\n  starter.py lblod pattern regionaal-sportoverleg\n"
        "  starter.py lblod pattern regionaal-sportoverleg --set 'Sportoverleg' --set "
        "'sportregio'\n  starter.py lblod pattern regionaal-sportoverleg --default\n",
        _cmd_pattern,
    )
    add_id_argument(pattern)
    choice = pattern.add_mutually_exclusive_group()
    choice.add_argument("--set", action="append", metavar="TEXT", help="a pattern (repeatable)")
    choice.add_argument("--default", action="store_true", help="go back to the default")
    pattern.add_argument("--by", default=user_name(), metavar="NAME", help="who changes it")
    add_json_flag(pattern)

    body = commands.add_parser(
        "body",
        help="register or remove an authority's LBLOD body (Bestuursorgaan URI)",
        description="The Bestuursorgaan URIs that identify an authority's council or body.",
    )
    body_commands = body.add_subparsers(dest="body_command", required=True, metavar="COMMAND")
    adder = add_command(
        body_commands,
        "add",
        "register a Bestuursorgaan URI as a body of an authority",
        "Register the lasting body's URI (and the body in time, if you like): a publication\n"
        "matches when its session is held by either.\n\n"
        "example:\n  starter.py lblod body add izegem "
        "http://data.lblod.info/id/bestuursorganen/... --label Gemeenteraad\n",
        _cmd_body_add,
    )
    adder.add_argument("authority", metavar="AUTHORITY", help="register id of the authority")
    adder.add_argument("uri", metavar="URI", help="the Bestuursorgaan URI")
    adder.add_argument("--label", metavar="TEXT", help="e.g. Gemeenteraad")
    remover = add_command(
        body_commands,
        "remove",
        "forget a registered body",
        "example:\n  starter.py lblod body remove http://data.lblod.info/id/bestuursorganen/...\n",
        _cmd_body_remove,
    )
    remover.add_argument("uri", metavar="URI")

    lister = add_command(
        commands,
        "bodies",
        "list the registered bodies and publication addresses",
        "example:\n  starter.py lblod bodies --json\n",
        _cmd_bodies,
    )
    add_json_flag(lister)

    source = add_command(
        commands,
        "source",
        "set where an authority publishes its decisions ('-' clears it)",
        "example:\n  starter.py lblod source izegem https://www.izegem.be/besluitenlijsten\n",
        _cmd_source,
    )
    source.add_argument("authority", metavar="AUTHORITY")
    source.add_argument("url", metavar="URL|-")

    harvest_one = add_command(
        commands,
        "harvest",
        "turn harvesting of one authority's publications on or off (off by default)",
        "example:\n  starter.py lblod harvest izegem on\n",
        _cmd_harvest,
    )
    harvest_one.add_argument("authority", metavar="AUTHORITY")
    harvest_one.add_argument("state", choices=["on", "off"])

    harvester = add_command(
        commands,
        "harvester",
        "the daily harvester (a Temporal Schedule): on, off, or its status",
        "example:\n  starter.py lblod harvester on --hour 6\n",
        _cmd_harvester,
    )
    harvester.add_argument("state", choices=["on", "off", "status"])
    harvester.add_argument(
        "--hour", type=int, choices=range(24), default=harvest.DEFAULT_HOUR, metavar="H"
    )
