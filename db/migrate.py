"""Versioned SQL migrations: db/migrations/NNNN_name.sql, applied in order, each exactly once.

Every file runs in its own transaction together with its row in `schema_migrations`, so a file
is either fully applied and recorded or not at all. A session advisory lock around the whole run
makes concurrent starts (several workers, a test and the stack) wait for each other instead of
applying a file twice. A file that changed after it was applied is refused, never re-run: the
database would no longer match what the file says.

Run `python -m db.migrate` to migrate the database in DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from cli.exit_codes import ExitCode
from db.connect import DatabaseUnavailable, DbConnection, connect, database_url
from log import configure_logging, get_logger
from settings import SettingsError, load_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Every process must agree on this key; advisory locks are per database, so migrating one
# database never blocks another. The value is "inkant" in ASCII, unlikely to collide.
MIGRATION_LOCK_KEY = 0x696E6B616E74

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text        PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

log = get_logger(__name__)


class MigrationError(RuntimeError):
    """The migrations cannot be applied as they are; the message says which file and why."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str
    checksum: str

    @property
    def file_name(self) -> str:
        return self.path.name


def _checksum(sql: str) -> str:
    # Line endings are normalised so a checkout with CRLF (Windows, autocrlf) has the same sum.
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file in version order; a misnamed or duplicate file is an error."""
    migrations: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: migration files must be named NNNN_name.sql "
                "(four digits, lowercase letters, digits and '_')"
            )
        version = match["version"]
        if version in migrations:
            raise MigrationError(
                f"{path}: version {version} is also used by {migrations[version].file_name}"
            )
        sql = path.read_text(encoding="utf-8")
        migrations[version] = Migration(version, match["name"], path, sql, _checksum(sql))
    return [migrations[v] for v in sorted(migrations, key=int)]


async def _applied(conn: DbConnection) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    return {row["version"]: row for row in rows}


def _check_history(
    migrations: list[Migration], applied: dict[str, asyncpg.Record], directory: Path
) -> None:
    """Refuse before touching anything if the files and the database's history disagree."""
    files = {m.version: m for m in migrations}
    for version, row in sorted(applied.items()):
        migration = files.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version}_{row['name']} applied but no such file "
                f"exists in {directory}; is this an older version of the code?"
            )
        if row["checksum"] != migration.checksum or row["name"] != migration.name:
            raise MigrationError(
                f"{migration.file_name} changed after it was applied to this database; "
                "applied migrations are never re-run: restore the file and put the change "
                "in a new migration"
            )
    newest = max((int(v) for v in applied), default=0)
    late = [m for m in migrations if m.version not in applied and int(m.version) < newest]
    if late:
        raise MigrationError(
            f"{late[0].file_name} is older than migration {newest:04d}, which is already "
            "applied; renumber it after the newest applied migration (or recreate a "
            "development database)"
        )


async def _apply_one(conn: DbConnection, migration: Migration) -> None:
    async with conn.transaction():
        try:
            await conn.execute(migration.sql)
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"{migration.file_name} failed and was rolled back: {exc}"
            ) from exc
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            migration.version,
            migration.name,
            migration.checksum,
        )


async def apply_migrations(url: str, *, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; return the versions this call applied (in order)."""
    migrations = discover_migrations(directory)
    conn = await connect(url)
    try:
        # Session lock: held across the per-file transactions, released in `finally` (and by
        # the server if this process dies, since the session ends with it).
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            await conn.execute(_CREATE_TABLE)
            applied = await _applied(conn)
            _check_history(migrations, applied, directory)
            done: list[str] = []
            for migration in migrations:
                if migration.version in applied:
                    continue
                await _apply_one(conn, migration)
                log.info("migration applied", version=migration.version, name=migration.name)
                done.append(migration.version)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await conn.close()


def main() -> int:
    try:
        settings = load_settings()
        configure_logging(settings)
        url = database_url(settings)
        applied = asyncio.run(apply_migrations(url))
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.INVALID_INPUT
    except DatabaseUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.UNAVAILABLE
    except MigrationError as exc:
        print(f"migration refused: {exc}", file=sys.stderr)
        return ExitCode.CONFLICT
    names = {m.version: m.file_name for m in discover_migrations()}
    for version in applied:
        print(f"applied {names[version]}")
    if not applied:
        print("nothing to apply: the database is up to date")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
