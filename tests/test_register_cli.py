"""The register's changing commands as a coordinator runs them: output, exit codes, and the
database left as it was whenever a command refuses. Each command runs as its own process
against a real, freshly migrated PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from cli.exit_codes import ExitCode
from tests.test_register_changes import (
    AUTHORITY_DUTCH,
    DUTCH,
    ENGLISH,
    csv_bytes,
    dutch,
    fiche_row,
    start_live_trajectory,
)

ROOT = Path(__file__).resolve().parent.parent


async def register(url: str, *args: str | Path, user: str = "an.peeters") -> Result:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "starter.py"), "register", *map(str, args)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, "USER": user},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = await asyncio.to_thread(run)
    return Result(done.returncode, done.stdout, done.stderr)


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def out(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def err(self) -> list[str]:
        return self.stderr.splitlines()

    def __repr__(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


async def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        tables = ("cooperations", "cooperation_members", "authorities", "register_changes")
        return {
            t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables
        }
    finally:
        await conn.close()


async def test_dry_run_import_changes_and_undo(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    rows = [
        fiche_row("nieuw", name="Nieuw", kind="shared-service"),
        fiche_row("wijk-werken", seat="Roeselare"),
        fiche_row("sport-midwest", domain="sport"),
    ]
    rows = [dutch(row) for row in rows]
    path.write_bytes(csv_bytes(DUTCH, rows, delimiter=";", bom=True, line_end="\r\n"))
    before = await contents(database_url)

    dry = await register(database_url, "import", path, "--dry-run")
    assert dry.code == ExitCode.OK, dry
    assert dry.out == [
        f"{path}:2 nieuw: new",
        "    id: (empty) -> 'nieuw'",
        "    name: (empty) -> 'Nieuw'",
        "    kind: (empty) -> 'shared-service'",
        f"{path}:3 wijk-werken: changed",
        "    seat: (empty) -> 'Roeselare'",
        f"{path}:4 sport-midwest: unchanged",
        f"{path}: dry run: 3 fiche(s): 1 new, 1 changed, 1 unchanged; nothing was written",
    ]
    assert await contents(database_url) == before

    done = await register(database_url, "import", path, "--by", "jan.claes")
    assert done.code == ExitCode.OK, done
    assert done.out[-1] == "recorded as change 1; undo it with `starter.py register undo 1`"

    listed = await register(database_url, "changes", "--json")
    assert listed.code == ExitCode.OK, listed
    [change] = json.loads(listed.stdout)
    assert (change["id"], change["recorded_by"], change["source"], change["row_count"]) == (
        1,
        "jan.claes",
        "export.csv",
        2,
    )
    shown = await register(database_url, "changes", "1")
    assert "    seat: (empty) -> 'Roeselare'" in shown.out, shown
    unknown = await register(database_url, "changes", "7")
    assert unknown.code == ExitCode.NOT_FOUND, unknown
    bad_limit = await register(database_url, "changes", "--limit", "-1")
    assert bad_limit.code == ExitCode.USAGE, bad_limit

    undone = await register(database_url, "undo", "1")  # recorded as the login name
    assert undone.code == ExitCode.OK, undone
    assert "nieuw: removed" in undone.out
    assert undone.out[-1] == "recorded as change 2"
    after = await register(database_url, "changes", "--json")
    undo_change, _ = json.loads(after.stdout)
    assert (undo_change["undoes"], undo_change["recorded_by"]) == (1, "an.peeters")

    again = await register(database_url, "undo", "1")
    assert again.code == ExitCode.CONFLICT, again
    assert again.err == [
        "change 1 was already undone by change 2",
        "register undo 1: 1 problem(s); nothing was changed",
    ]
    missing = await register(database_url, "undo", "99")
    assert missing.code == ExitCode.NOT_FOUND, missing
    not_a_number = await register(database_url, "undo", "laatste")
    assert not_a_number.code == ExitCode.USAGE, not_a_number


async def test_live_trajectory_refusal_is_a_conflict(database_url: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        trajectory = await start_live_trajectory(conn, "intergemeentelijk-archiefteam")
    finally:
        await conn.close()
    path = tmp_path / "fiches.csv"
    row = fiche_row("intergemeentelijk-archiefteam", kind="regional-role", remarks="ok")
    path.write_bytes(csv_bytes(ENGLISH, [row]))
    before = await contents(database_url)
    refused = await register(database_url, "import", path)
    assert refused.code == ExitCode.CONFLICT, refused
    assert refused.stdout == ""
    assert refused.err[0].startswith(f"{path}:2: column kind: cannot change the kind")
    assert trajectory in refused.err[0]
    assert refused.err[-1] == f"{path}: 1 problem(s); nothing was imported"

    # A conflict beside invalid input: fix the input first (exit 3).
    bad = fiche_row("nieuw", name="Nieuw", kind="vzw")
    path.write_bytes(csv_bytes(ENGLISH, [row, bad]))
    mixed = await register(database_url, "import", path)
    assert mixed.code == ExitCode.INVALID_INPUT, mixed
    assert await contents(database_url) == before


async def test_wrong_delimiter_exit_code_and_hint(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "fiches.csv"
    path.write_bytes(
        csv_bytes(ENGLISH, [fiche_row("x", name="X", kind="shared-service")], delimiter="\t")
    )
    result = await register(database_url, "import", path, "--delimiter", ";")
    assert result.code == ExitCode.INVALID_INPUT, result
    assert result.err[0].endswith("pass --delimiter tab"), result
    with_tab = await register(database_url, "import", path, "--delimiter", "tab", "--dry-run")
    assert with_tab.code == ExitCode.OK, with_tab


async def test_authority_commands(database_url: str, tmp_path: Path) -> None:
    add = ("authority", "add", "kortrijk", "--name", "Kortrijk", "--kind", "municipality")
    incomplete = await register(database_url, *add, "--member", "nee")
    assert incomplete.code == ExitCode.INVALID_INPUT, incomplete
    assert incomplete.err[0] == (
        "--votes: required for a new authority ('kortrijk' is not in the register yet); fill it in"
    )
    added = await register(database_url, *add, "--member", "nee", "--votes", "0")
    assert added.code == ExitCode.OK, added
    assert added.out[0] == "kortrijk: new"
    twice = await register(database_url, *add, "--member", "nee", "--votes", "0")
    assert twice.code == ExitCode.CONFLICT, twice

    before = await contents(database_url)
    cases = [
        (("authority", "set", "atlantis", "--votes", "1"), ExitCode.NOT_FOUND, "no authority"),
        (("authority", "set", "kortrijk", "--votes", "veel"), ExitCode.INVALID_INPUT, "--votes:"),
        (("authority", "set", "kortrijk", "--name", " "), ExitCode.INVALID_INPUT, "--name:"),
        (("authority", "set", "kortrijk"), ExitCode.USAGE, "give at least one of"),
        (
            ("authority", "set", "kortrijk", "--votes", "1", "--by", ""),
            ExitCode.INVALID_INPUT,
            "--by:",
        ),
        (("authority", "remove", "roeselare"), ExitCode.CONFLICT, "member of cooperations"),
        (("authority", "set", "Kortrijk!", "--votes", "1"), ExitCode.INVALID_INPUT, "ID:"),
    ]
    for args, code, message in cases:
        result = await register(database_url, *args)
        assert (result.code, result.stdout) == (code, ""), (args, result)
        assert message in result.stderr, (args, result)
    assert await contents(database_url) == before

    changed = await register(
        database_url, "authority", "set", "kortrijk", "--votes", "1", "--website", "-"
    )
    assert changed.code == ExitCode.OK, changed
    assert changed.out[:2] == ["kortrijk: changed", "    votes: 0 -> 1"]

    path = tmp_path / "besturen.csv"
    rows = [{"id": "kortrijk", "Naam": "Stad Kortrijk"}]
    path.write_bytes(csv_bytes(AUTHORITY_DUTCH, rows, delimiter=";"))
    imported = await register(database_url, "authority", "import", path)
    assert imported.code == ExitCode.OK, imported
    assert "    name: 'Kortrijk' -> 'Stad Kortrijk'" in imported.out

    removed = await register(database_url, "authority", "remove", "kortrijk")
    assert removed.code == ExitCode.OK, removed
    listed = await register(database_url, "authorities", "--json")
    assert "kortrijk" not in {a["id"] for a in json.loads(listed.stdout)}


async def test_remove_fiche(database_url: str) -> None:
    before = await contents(database_url)
    dry = await register(database_url, "remove", "projectvereniging-bie", "--dry-run")
    assert dry.code == ExitCode.OK, dry
    assert dry.out[0] == "projectvereniging-bie: removed"
    assert await contents(database_url) == before
    missing = await register(database_url, "remove", "atlantis")
    assert missing.code == ExitCode.NOT_FOUND, missing
    removed = await register(database_url, "remove", "projectvereniging-bie", "--json")
    assert removed.code == ExitCode.OK, removed
    outcome = json.loads(removed.stdout)
    assert (outcome["change_id"], outcome["rows"][0]["status"]) == (1, "removed")
    shown = await register(database_url, "show", "projectvereniging-bie")
    assert shown.code == ExitCode.NOT_FOUND, shown
