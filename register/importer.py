"""Write validated fiches to the register, after checking what only the database knows."""

from __future__ import annotations

from db.connect import DbConnection
from db.register import UpsertResult, list_authorities, upsert_cooperations
from register.csv_import import CsvImportError, ParsedFile, unknown_members


async def import_fiches(conn: DbConnection, parsed: ParsedFile) -> UpsertResult:
    """Upsert every row in one transaction, or raise CsvImportError with every problem of the
    file (its own and unknown member ids) and write nothing."""
    # The check and the write share one transaction, so the authorities checked are the ones
    # the members refer to when written.
    async with conn.transaction():
        known = {authority.id for authority in await list_authorities(conn)}
        problems = [*parsed.problems, *unknown_members(parsed, known)]
        if problems:
            raise CsvImportError(problems)
        return await upsert_cooperations(conn, [row.fiche for row in parsed.rows])
