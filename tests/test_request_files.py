"""Request files for `starter.py start --request FILE` (and --staff-file, --assets-file) are
read strictly: a key given twice (the parsers would keep the last one without a word), an
alias that repeats a whole block, and a staff member listed twice are refused, each problem
on a line of its own with where it is, exit code 3."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli.exit_codes import ExitCode
from operations.requests import InvalidRequest, parse_start_input, read_data_file
from tests.test_cli_trajectories import ROOT, run_process


def problems(path: Path) -> list[str]:
    with pytest.raises(InvalidRequest) as refused:
        read_data_file(path)
    return [
        f"{field.removeprefix(str(path))}: {message}" for field, message in refused.value.problems
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_key_given_twice_at_any_depth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "request.yaml",
        "cooperation_id: projectvereniging-bie\n"
        "planned_av_date: 2027-06-15\n"
        "deadlines:\n"
        "  union_convocation_working_days: 15\n"
        "  union_convocation_working_days: 20\n"
        "staff:\n"
        "  - {name: An Peeters, statute: contractual, statute: statutory}\n"
        "planned_av_date: 2027-09-15\n",
    )
    assert problems(path) == [
        ", line 5: key 'union_convocation_working_days' is given twice in one object "
        "(first on line 4)",
        ", line 7: key 'statute' is given twice in one object (first on line 7)",
        ", line 8: key 'planned_av_date' is given twice in one object (first on line 2)",
    ]


def test_a_json_key_given_twice_at_any_depth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "request.json",
        '{"cooperation_id": "projectvereniging-bie",\n'
        ' "staff": [{"name": "An Peeters", "statute": "contractual"},\n'
        '           {"name": "Bram Claes", "name": "Bram Claes",\n'
        '            "statute": "statutory"}],\n'
        ' "cooperation_id": "sport-midwest"}\n',
    )
    assert problems(path) == [
        ", line 3: key 'name' is given twice in one object (first on line 3)",
        ", line 5: key 'cooperation_id' is given twice in one object (first on line 1)",
    ]


def test_the_same_key_in_different_objects_is_fine(tmp_path: Path) -> None:
    text = '[{"name": "An", "statute": "contractual"}, {"name": "Bram", "statute": "statutory"}]'
    assert len(read_data_file(write(tmp_path, "staff.json", text))) == 2
    yaml_text = "- {name: An, statute: contractual}\n- {name: Bram, statute: statutory}\n"
    assert len(read_data_file(write(tmp_path, "staff.yaml", yaml_text))) == 2


def test_an_alias_of_a_block_is_refused_an_alias_of_a_value_is_not(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "request.yaml",
        "staff:\n"
        "  - &an {name: An Peeters, statute: contractual}\n"
        "  - *an\n"
        "assets:\n"
        "  - &depot\n"
        "    description: Depot\n"
        "  - <<: *depot\n"
        "    value_eur: 10\n",
    )
    assert problems(path) == [
        ", line 3: alias *an repeats a whole block; write each entry out (a repeated staff "
        "member or asset would count twice)",
        ", line 7: alias *depot repeats a whole block; write each entry out (a repeated staff "
        "member or asset would count twice)",
    ]
    dates = write(tmp_path, "dates.yaml", "planned_av_date: &av 2027-06-15\neffective_date: *av\n")
    data = read_data_file(dates)
    assert data["planned_av_date"] == data["effective_date"]


def test_a_parse_error_is_one_line_with_its_line(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")) == [
        ", line 3: not valid YAML: while parsing a flow sequence, expected ',' or ']', but got ':'"
    ]
    assert problems(write(tmp_path, "bad.json", '{"a": 1,\n "b": }')) == [
        ", line 2: not valid JSON: Expecting value"
    ]


def test_the_same_staff_member_twice_is_refused_naming_them() -> None:
    staff = [
        {"name": "An Peeters", "statute": "contractual"},
        {"name": "Bram Claes", "statute": "statutory"},
        {"name": "an  peeters", "statute": "statutory"},
        {"name": "Bram Claes", "statute": "statutory", "route": "secondment"},
        {"name": "An Peeters", "statute": "contractual"},
    ]
    with pytest.raises(InvalidRequest) as refused:
        parse_start_input([{"staff": staff}])
    assert refused.value.problems == (
        ("staff", "'An Peeters' is listed 3 times (entries 1, 3, 5); list each person once"),
        ("staff", "'Bram Claes' is listed 2 times (entries 2, 4); list each person once"),
    )
    distinct = parse_start_input([{"staff": staff[:2]}])
    assert distinct.staff is not None and len(distinct.staff) == 2


async def test_start_refuses_them_one_line_per_problem(tmp_path: Path) -> None:
    """The file is read before any server is asked: no Temporal, no PostgreSQL needed."""
    request = write(
        tmp_path,
        "bie.yaml",
        "cooperation_id: projectvereniging-bie\n"
        "cooperation_id: sport-midwest\n"
        "staff:\n"
        "  - &an {name: An Peeters, statute: contractual}\n"
        "  - *an\n",
    )
    staff = write(
        tmp_path,
        "staff.json",
        '[{"name": "An Peeters", "statute": "contractual"},\n'
        ' {"name": "An Peeters", "statute": "statutory"}]',
    )
    starter = (sys.executable, str(ROOT / "starter.py"), "start")
    closed = {"TEMPORAL_ADDRESS": "127.0.0.1:9", "DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}
    from_request, from_staff_file = (
        await run_process(*starter, "--request", str(request), env=closed),
        await run_process(
            *starter, "projectvereniging-bie", "--staff-file", str(staff), env=closed
        ),
    )
    assert (from_request.code, from_request.stdout) == (ExitCode.INVALID_INPUT, "")
    assert from_request.stderr.splitlines() == [
        f"{request}, line 2: key 'cooperation_id' is given twice in one object (first on line 1)",
        f"{request}, line 5: alias *an repeats a whole block; write each entry out (a repeated "
        "staff member or asset would count twice)",
    ]
    assert (from_staff_file.code, from_staff_file.stdout) == (ExitCode.INVALID_INPUT, "")
    assert from_staff_file.stderr.splitlines() == [
        "--staff-file: 'An Peeters' is listed 2 times (entries 1, 2); list each person once"
    ]
