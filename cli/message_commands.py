"""Messages to a running trajectory: `decide`, `task done`, `amend`, `join`,
`effective-date` and `abort`.

Each is sent as a workflow update, so the coordinator gets the trajectory's answer at once:
its acknowledgement, or its refusal in its own words (exit code 5).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cli.common import (
    Handler,
    InvalidInput,
    Progress,
    add_command,
    add_id_argument,
    add_json_flag,
    answer_wait,
    database,
    id_list,
    optional_date,
    parse_date,
    print_json,
    register_id,
    run,
    shown,
    temporal_client,
    user_name,
    workflow_id_from,
)
from cli.exit_codes import ExitCode
from cli.render import ack_line
from db.connect import DatabaseUnavailable
from db.register import get_authority, get_cooperation, known_ids
from operations.messages import UpdateName, send_update
from operations.requests import (
    InvalidRequest,
    UnknownAuthorities,
    participants_for,
    problems_of,
    read_mapping_file,
)
from register.entities import Entity
from register.suggest import suggest
from schemas.common import Outcome
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    DecisionInput,
    EffectiveDateChange,
    JoinRequest,
    TaskCompletion,
)
from settings import Settings


def _message(model: type[BaseModel], fields: Mapping[str, Any]) -> Any:
    """The message, or InvalidRequest naming each wrong field (shown with its option)."""
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None


# What each update records, for the line after an interrupt.
_WHAT: dict[UpdateName, str] = {
    "decide": "decision",
    "complete_task": "task completion",
    "amend": "amendment",
    "join": "join",
    "set_effective_date": "new effective date",
    "abort": "abort",
}


def _progress() -> Progress:
    return Progress(interrupted="nothing was sent")


async def _deliver(
    settings: Settings,
    args: argparse.Namespace,
    workflow_id: str,
    name: UpdateName,
    message: BaseModel,
    progress: Progress,
) -> int:
    client = await temporal_client(settings)
    progress.sending(_WHAT[name], workflow_id)
    ack = await send_update(client, workflow_id, name, message, within=answer_wait(args))
    if args.json:
        print_json(
            {
                "workflow_id": workflow_id,
                "update": name,
                "message": ack.message,
                "no_op": ack.no_op,
            }
        )
    else:
        print(ack_line(ack))
    return ExitCode.OK


# --- decide -----------------------------------------------------------------------------------

DECIDE_OPTIONS = {
    "authority_id": "AUTHORITY",
    "outcome": "OUTCOME",
    "session_date": "--session-date",
    "reference": "--reference",
    "step_id": "--step",
    "votes_for": "--for",
    "votes_against": "--against",
    "votes_abstained": "--abstained",
    "delegates": "--delegate",
    "taken_in_advance_because": "--in-advance",
    "recorded_by": "--recorded-by",
    "note": "--note",
}


def _outcome(text: str) -> Outcome:
    try:
        return Outcome(text.strip().lower())
    except ValueError:
        choices = ", ".join(o.value for o in Outcome)
        raise InvalidInput(f"OUTCOME: must be one of {choices} (got {shown(text)})") from None


async def _check_registered(settings: Settings, authority_id: str) -> None:
    """An id the register does not know is a typo: say so (NOT_FOUND) rather than pass on the
    trajectory's refusal. A registered authority that is not a party is left to the
    trajectory's validator, whose message lists the parties. The old structure decides under
    its cooperation's id, which the register knows as a cooperation."""
    try:
        async with database(settings) as conn:
            known = await get_authority(conn, authority_id) is not None or (
                await get_cooperation(conn, authority_id) is not None
            )
            ids = [
                *await known_ids(conn, Entity.AUTHORITY),
                *await known_ids(conn, Entity.COOPERATION),
            ]
    except DatabaseUnavailable:
        return  # the register is only a hint here; the validator still refuses
    if not known:
        raise UnknownAuthorities([authority_id], {authority_id: suggest(authority_id, ids)})


def _delegates(pairs: list[str] | None, path: str | None) -> list[dict[str, str]]:
    """The delegates' votes of a general assembly, from `--delegate ID=OUTCOME` (repeated)
    and `--delegates FILE` (a YAML or JSON mapping of authority id to outcome)."""
    votes: dict[str, str] = {}
    if path is not None:
        try:
            mapping = read_mapping_file(Path(path))
        except InvalidRequest as exc:
            raise InvalidInput(f"--delegates: {exc}") from None
        for authority, outcome in mapping.items():
            votes[str(authority)] = str(outcome)
    for pair in pairs or ():
        authority, sep, outcome = pair.partition("=")
        if not sep or not authority.strip() or not outcome.strip():
            raise InvalidInput(
                f"--delegate: write AUTHORITY=OUTCOME, e.g. izegem=reject (got {shown(pair)})"
            )
        if authority.strip() in votes:
            raise InvalidInput(f"--delegate: {shown(authority.strip())} is given twice")
        votes[authority.strip()] = outcome.strip().lower()
    return [{"authority_id": a, "outcome": o} for a, o in votes.items()]


def _cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    progress = _progress()

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        authority = register_id(args.authority, "AUTHORITY")
        outcome = _outcome(args.outcome)
        session_date = optional_date(args.session_date, "--session-date")
        step = register_id(args.step, "--step") if args.step else None
        # One message: the trajectory resolves the step and the session date itself
        # (TrajectoryState.complete_decision) and refuses an ambiguous step with the names.
        # Only an id the register does not know is refused here, as a typo.
        await _check_registered(settings, authority)
        decision = _message(
            DecisionInput,
            {
                "authority_id": authority,
                "outcome": outcome,
                "session_date": session_date,
                "reference": args.reference,
                "step_id": step,
                "votes_for": args.votes_for,
                "votes_against": args.votes_against,
                "votes_abstained": args.votes_abstained,
                "delegates": _delegates(args.delegate, args.delegates),
                "taken_in_advance_because": args.in_advance,
                "recorded_by": args.by,
                "note": args.note,
            },
        )
        return await _deliver(settings, args, workflow_id, "decide", decision, progress)

    return run(settings, work, DECIDE_OPTIONS, progress)


# --- task done --------------------------------------------------------------------------------

TASK_OPTIONS = {
    "step_id": "STEP",
    "evidence": "--evidence",
    "completed_by": "--by",
    "done_on": "--on",
    "done_in_advance_because": "--in-advance",
    "note": "--note",
}


def _cmd_task_done(args: argparse.Namespace, settings: Settings) -> int:
    progress = _progress()

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        completion = _message(
            TaskCompletion,
            {
                "step_id": register_id(args.step, "STEP"),
                "evidence": args.evidence,
                "completed_by": args.by,
                "done_on": optional_date(args.on, "--on"),
                "done_in_advance_because": args.in_advance,
                "note": args.note,
            },
        )
        return await _deliver(settings, args, workflow_id, "complete_task", completion, progress)

    return run(settings, work, TASK_OPTIONS, progress)


# --- amend ------------------------------------------------------------------------------------

AMEND_OPTIONS = {
    "reason": "--reason",
    "amended_by": "--by",
    "reopen_for": "--reopen",
    "changes_proposal": "--changed-proposal",
    "planned_av_date": "--av-date",
    "effective_date": "--effective-date",
}


def _cmd_amend(args: argparse.Namespace, settings: Settings) -> int:
    progress = _progress()

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        amendment = _message(
            Amendment,
            {
                "reason": args.reason,
                "amended_by": args.by,
                "reopen_for": id_list(args.reopen, "--reopen") or (),
                "planned_av_date": optional_date(args.av_date, "--av-date"),
                "effective_date": optional_date(args.effective_date, "--effective-date"),
                "changes_proposal": args.changed_proposal,
            },
        )
        return await _deliver(settings, args, workflow_id, "amend", amendment, progress)

    return run(settings, work, AMEND_OPTIONS, progress)


# --- join -------------------------------------------------------------------------------------

JOIN_OPTIONS = {"participant": "AUTHORITY", "participants": "AUTHORITY", "joined_by": "--by"}


def _cmd_join(args: argparse.Namespace, settings: Settings) -> int:
    progress = _progress()

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        authority = register_id(args.authority, "AUTHORITY")
        async with database(settings) as conn:
            (participant,) = await participants_for(conn, [authority])
        request = _message(JoinRequest, {"participant": participant, "joined_by": args.by})
        return await _deliver(settings, args, workflow_id, "join", request, progress)

    return run(settings, work, JOIN_OPTIONS, progress)


# --- effective-date ---------------------------------------------------------------------------

EFFECTIVE_OPTIONS = {"effective_date": "DATE", "reason": "--reason", "changed_by": "--by"}


def _cmd_effective_date(args: argparse.Namespace, settings: Settings) -> int:
    progress = _progress()

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        change = _message(
            EffectiveDateChange,
            {
                "effective_date": parse_date(args.date, "DATE"),
                "reason": args.reason,
                "changed_by": args.by,
            },
        )
        return await _deliver(settings, args, workflow_id, "set_effective_date", change, progress)

    return run(settings, work, EFFECTIVE_OPTIONS, progress)


# --- abort ------------------------------------------------------------------------------------

ABORT_OPTIONS = {"reason": "--reason", "aborted_by": "--by"}


def _cmd_abort(args: argparse.Namespace, settings: Settings) -> int:
    progress = _progress()

    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        request = _message(AbortRequest, {"reason": args.reason, "aborted_by": args.by})
        return await _deliver(settings, args, workflow_id, "abort", request, progress)

    return run(settings, work, ABORT_OPTIONS, progress)


# --- the parsers ------------------------------------------------------------------------------


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    epilog: str,
    handler: Handler,
) -> argparse.ArgumentParser:
    parser = add_command(commands, name, summary, epilog, handler)
    add_id_argument(parser)
    return parser


def _add_by(parser: argparse.ArgumentParser, *aliases: str) -> None:
    parser.add_argument(
        "--by",
        *aliases,
        dest="by",
        metavar="NAME",
        default=user_name(),
        help="who records this (default: $USER or 'coordinator')",
    )


def _add_decide(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outcomes = ", ".join(o.value for o in Outcome)
    parser = _command(
        subparsers,
        "decide",
        "record the decision of a council or body",
        f"OUTCOME is one of {outcomes}. The session date defaults to the trajectory's calendar\n"
        "today. --step is needed only when the authority has several open decisions.\n\n"
        "examples:\n"
        "  starter.py decide projectvereniging-bie izegem approve --session-date 2027-03-24 \\\n"
        "      --reference https://izegem.be/besluit/2027-03-24/12 --for 21 --against 4 \\\n"
        "      --abstained 2\n"
        "  starter.py decide projectvereniging-bie dvv-midwest-rvb approve \\\n"
        "      --reference RvB-2027-07\n"
        "  starter.py decide projectvereniging-bie dvv-midwest-av approve \\\n"
        "      --reference AV-2027-09 --delegates av-stemming.yaml\n\n"
        "The general assembly's approval carries its delegates' votes (--delegates FILE or\n"
        "--delegate ID=OUTCOME, repeated): the trajectory weighs them with the register's\n"
        "votes and refuses an approval that does not meet the assembly's rule, with the\n"
        "arithmetic.\n",
        _cmd_decide,
    )
    parser.add_argument("authority", metavar="AUTHORITY", help="register id of who decided")
    parser.add_argument("outcome", metavar="OUTCOME", help=outcomes)
    parser.add_argument(
        "--session-date", metavar="YYYY-MM-DD", help="date of the session (default: today)"
    )
    parser.add_argument(
        "--reference", required=True, metavar="REF", help="the decision's URI or number"
    )
    parser.add_argument("--step", metavar="STEP", help="the decision step (when ambiguous)")
    parser.add_argument("--for", dest="votes_for", metavar="N", help="votes for")
    parser.add_argument("--against", dest="votes_against", metavar="N", help="votes against")
    parser.add_argument("--abstained", dest="votes_abstained", metavar="N", help="abstentions")
    parser.add_argument(
        "--delegate",
        action="append",
        metavar="ID=OUTCOME",
        help="general assembly: how a member's delegate voted (approve, reject, abstain); "
        "repeat for each delegate present, members left out were absent",
    )
    parser.add_argument(
        "--delegates",
        metavar="FILE",
        help="general assembly: the delegates' votes as a YAML or JSON mapping ID: OUTCOME",
    )
    parser.add_argument(
        "--in-advance",
        metavar="REASON",
        help="why a session date before the step opened is right (a decision taken in advance)",
    )
    _add_by(parser, "--recorded-by")
    parser.add_argument("--note", metavar="TEXT", help="a remark kept with the decision")
    add_json_flag(parser, "the acknowledgement as JSON")


def _add_task(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser(
        "task",
        help="tasks of a trajectory (done by people, completed with evidence)",
        description="Complete a task of a running trajectory.",
        epilog="example:\n  starter.py task done projectvereniging-bie legal-scan --evidence dms://4711\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser = _command(
        commands,
        "done",
        "complete an open task with its evidence",
        "`starter.py status ID` lists the steps; a task must be open to be completed.\n\n"
        "example:\n"
        "  starter.py task done projectvereniging-bie legal-scan \\\n"
        "      --evidence https://dms.midwest.be/doc/4711 --note 'nota van de jurist'\n",
        _cmd_task_done,
    )
    parser.add_argument("step", metavar="STEP", help="the task's step id")
    parser.add_argument(
        "--evidence", required=True, metavar="REF", help="a document reference or link"
    )
    parser.add_argument(
        "--on", metavar="YYYY-MM-DD", help="the day it was really done (default: today)"
    )
    parser.add_argument(
        "--in-advance",
        metavar="REASON",
        help="why a day before the task opened is right (done in advance)",
    )
    _add_by(parser)
    parser.add_argument("--note", metavar="TEXT", help="a remark kept with the completion")
    add_json_flag(parser, "the acknowledgement as JSON")


def _add_amend(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        subparsers,
        "amend",
        "answer a rejection: amend the proposal and open a new round",
        "Without --reopen every party that did not approve decides again on the same proposal\n"
        "(a council that postponed, or one asked to reconsider). With --changed-proposal the\n"
        "proposal itself changes: the board fixes a new text, the statutory period runs again\n"
        "and every member decides again, with what follows from them; an assembly that can no\n"
        "longer be met is refused with the earliest one that can (--av-date). An assembly's\n"
        "rejection is amended the same way.\n\n"
        "examples:\n"
        "  starter.py amend projectvereniging-bie --reason 'uitstel in Izegem' --reopen izegem\n"
        "  starter.py amend projectvereniging-bie --reason 'aangepaste verdeelsleutel' \\\n"
        "      --changed-proposal --av-date 2027-12-15 --effective-date 2028-03-01\n",
        _cmd_amend,
    )
    parser.add_argument("--reason", required=True, metavar="TEXT", help="what changed")
    parser.add_argument("--reopen", metavar="IDS", help="authorities that decide again (a,b)")
    parser.add_argument(
        "--changed-proposal",
        action="store_true",
        help="the proposal changes: new board text, new period, every member decides again",
    )
    parser.add_argument("--av-date", metavar="YYYY-MM-DD", help="new general assembly date")
    parser.add_argument("--effective-date", metavar="YYYY-MM-DD", help="new effective date")
    _add_by(parser)
    add_json_flag(parser, "the acknowledgement as JSON")


def _add_join(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        subparsers,
        "join",
        "let an authority join while the trajectory runs (olievlek)",
        "Its name, kind and votes come from the register; it gets its own decision in every\n"
        "open round.\n\n"
        "example:\n  starter.py join projectvereniging-bie ledegem\n",
        _cmd_join,
    )
    parser.add_argument("authority", metavar="AUTHORITY", help="register id of the authority")
    _add_by(parser)
    add_json_flag(parser, "the acknowledgement as JSON")


def _add_effective_date(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        subparsers,
        "effective-date",
        "set a new effective date (never in the trajectory's past)",
        "example:\n"
        "  starter.py effective-date projectvereniging-bie 2028-01-01 --reason 'AV uitgesteld'\n",
        _cmd_effective_date,
    )
    parser.add_argument("date", metavar="DATE", help="the new effective date, YYYY-MM-DD")
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why it changes")
    _add_by(parser)
    add_json_flag(parser, "the acknowledgement as JSON")


def _add_abort(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        subparsers,
        "abort",
        "stop the trajectory; compensating steps undo what was done",
        "Drafts are withdrawn, the parties are told and the register is restored. Refused once\n"
        "the transfer has started.\n\n"
        "example:\n"
        "  starter.py abort projectvereniging-bie --reason 'gemeenten kiezen een andere weg'\n",
        _cmd_abort,
    )
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why it stops")
    _add_by(parser)
    add_json_flag(parser, "the acknowledgement as JSON")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the message commands to the starter's command line."""
    _add_decide(subparsers)
    _add_task(subparsers)
    _add_amend(subparsers)
    _add_join(subparsers)
    _add_effective_date(subparsers)
    _add_abort(subparsers)
