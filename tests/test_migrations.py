"""db/migrate.py against a real PostgreSQL: order, exactly-once, concurrency, refusals."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from cli.exit_codes import ExitCode
from db.connect import DatabaseUnavailable, connect
from db.migrate import MigrationError, apply_migrations, discover_migrations

ROOT = Path(__file__).resolve().parent.parent


def _with_database(url: str, database: str) -> str:
    return f"{url.rpartition('/')[0]}/{database}"


@pytest.fixture
async def empty_database_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A database without any migration applied."""
    name = f"inkanteling_m_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(postgres_admin_url, name)
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


async def _history(url: str) -> list[tuple[str, str]]:
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY applied_at")
        return [(row["version"], row["name"]) for row in rows]
    finally:
        await conn.close()


async def _tables(url: str) -> set[str]:
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_project_migrations_apply_in_order_exactly_once(empty_database_url: str) -> None:
    expected = [m.version for m in discover_migrations()]
    assert expected[:2] == ["0001", "0002"]

    assert await apply_migrations(empty_database_url) == expected
    assert [v for v, _ in await _history(empty_database_url)] == expected
    assert {"authorities", "cooperations", "cooperation_members", "associations"} <= (
        await _tables(empty_database_url)
    )
    assert await apply_migrations(empty_database_url) == []
    assert [v for v, _ in await _history(empty_database_url)] == expected


async def test_later_file_builds_on_earlier_one(empty_database_url: str, tmp_path: Path) -> None:
    # 0002 fails unless 0001 ran before it; 0010 must come after 0002 (numeric order).
    directory = _write(
        tmp_path / "m",
        {
            "0010_c.sql": "ALTER TABLE a ADD COLUMN z int;",
            "0002_b.sql": "ALTER TABLE a ADD COLUMN y int;",
            "0001_a.sql": "CREATE TABLE a (x int);",
        },
    )
    assert await apply_migrations(empty_database_url, directory=directory) == [
        "0001",
        "0002",
        "0010",
    ]
    assert await _history(empty_database_url) == [("0001", "a"), ("0002", "b"), ("0010", "c")]


async def test_concurrent_runs_apply_each_migration_once(empty_database_url: str) -> None:
    expected = [m.version for m in discover_migrations()]
    results = await asyncio.gather(*(apply_migrations(empty_database_url) for _ in range(3)))
    applied = [version for result in results for version in result]
    assert sorted(applied) == expected
    assert sorted(len(r) for r in results) == [0, 0, len(expected)]
    assert [v for v, _ in await _history(empty_database_url)] == expected


async def test_changed_file_is_refused_and_nothing_else_applied(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE a (x int);"})
    assert await apply_migrations(empty_database_url, directory=directory) == ["0001"]

    _write(
        directory,
        {
            "0001_a.sql": "CREATE TABLE a (x int, y int);",
            "0002_b.sql": "CREATE TABLE b (x int);",
        },
    )
    with pytest.raises(MigrationError, match=r"0001_a\.sql changed after it was applied"):
        await apply_migrations(empty_database_url, directory=directory)
    assert "b" not in await _tables(empty_database_url)
    assert await _history(empty_database_url) == [("0001", "a")]


async def test_line_endings_do_not_count_as_a_change(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE a (x int);\n"})
    await apply_migrations(empty_database_url, directory=directory)
    (directory / "0001_a.sql").write_bytes(b"CREATE TABLE a (x int);\r\n")
    assert await apply_migrations(empty_database_url, directory=directory) == []


async def test_failed_migration_is_rolled_back_and_not_recorded(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(
        tmp_path / "m",
        {
            "0001_a.sql": "CREATE TABLE a (x int);",
            "0002_b.sql": "CREATE TABLE b (x int); SELECT 1 / 0;",
        },
    )
    with pytest.raises(MigrationError, match=r"0002_b\.sql failed and was rolled back"):
        await apply_migrations(empty_database_url, directory=directory)
    assert await _history(empty_database_url) == [("0001", "a")]
    assert "b" not in await _tables(empty_database_url)

    # The lock was released: fixing the file and running again proceeds at once.
    _write(directory, {"0002_b.sql": "CREATE TABLE b (x int);"})
    applied = await asyncio.wait_for(
        apply_migrations(empty_database_url, directory=directory), timeout=30
    )
    assert applied == ["0002"]


async def test_migration_older_than_the_newest_applied_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(
        tmp_path / "m",
        {"0001_a.sql": "CREATE TABLE a (x int);", "0003_c.sql": "CREATE TABLE c (x int);"},
    )
    await apply_migrations(empty_database_url, directory=directory)
    _write(directory, {"0002_b.sql": "CREATE TABLE b (x int);"})
    with pytest.raises(MigrationError, match=r"0002_b\.sql is older than migration 0003"):
        await apply_migrations(empty_database_url, directory=directory)


async def test_applied_migration_without_file_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    directory = _write(
        tmp_path / "m",
        {"0001_a.sql": "CREATE TABLE a (x int);", "0002_b.sql": "CREATE TABLE b (x int);"},
    )
    await apply_migrations(empty_database_url, directory=directory)
    (directory / "0002_b.sql").unlink()
    with pytest.raises(MigrationError, match="0002_b applied but no such file"):
        await apply_migrations(empty_database_url, directory=directory)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1_a.sql": "SELECT 1;"}, "must be named NNNN_name.sql"),
        ({"0001_A.sql": "SELECT 1;"}, "must be named NNNN_name.sql"),
        ({"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"}, "version 0001 is also used"),
    ],
)
def test_badly_named_files_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        discover_migrations(_write(tmp_path / "m", files))


async def test_unreachable_database_gives_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match="make stack"):
        await apply_migrations("postgresql://postgres@127.0.0.1:1/nothing")


async def test_missing_database_gives_a_clear_error(postgres_admin_url: str) -> None:
    url = _with_database(postgres_admin_url, "no_such_database_here")
    with pytest.raises(DatabaseUnavailable, match=r"no_such_database_here.*fix DATABASE_URL"):
        await apply_migrations(url)


def _run_module(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "db.migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_command_line_applies_and_reports(empty_database_url: str) -> None:
    first = await asyncio.to_thread(_run_module, empty_database_url)
    assert first.returncode == ExitCode.OK, first.stderr
    assert first.stdout.splitlines()[:2] == [
        "applied 0001_register.sql",
        "applied 0002_seed_register.sql",
    ]
    second = await asyncio.to_thread(_run_module, empty_database_url)
    assert second.returncode == ExitCode.OK, second.stderr
    assert second.stdout.strip() == "nothing to apply: the database is up to date"

    down = await asyncio.to_thread(_run_module, "postgresql://postgres@127.0.0.1:1/x")
    assert down.returncode == ExitCode.UNAVAILABLE
    assert "make stack" in down.stderr
    assert down.stdout == ""
