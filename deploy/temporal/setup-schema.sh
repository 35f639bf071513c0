#!/bin/sh
# The schema job of docker-compose.yml (service temporal-schema), run in the official
# temporalio/admin-tools image: sets up or upgrades the schema of Temporal's persistence and
# visibility databases with temporal-sql-tool and the schema files built into it
# (--schema-name), for the server version the image is tagged with.
#
# Safe to run on every `docker compose up`: setup-schema only creates the version tables that
# are missing and leaves a database whose version is above 0.0 as it is; update-schema applies
# the versions that are not applied yet, in order. The two databases themselves are created
# by the temporal-db service on its first start (deploy/temporal-db/01-databases.sql).
#
# Connection and password come from the environment (SQL_HOST, SQL_PORT, SQL_USER,
# SQL_PASSWORD, SQL_PLUGIN), never from the command line, where `ps` would show them.
set -eu

: "${SQL_HOST:?SQL_HOST must name the Temporal database server}"
: "${SQL_PASSWORD:?SQL_PASSWORD must hold the Temporal database password}"
: "${TEMPORAL_DBNAME:=temporal}"
: "${TEMPORAL_VISIBILITY_DBNAME:=temporal_visibility}"

echo "temporal-schema: persistence database ${TEMPORAL_DBNAME}"
temporal-sql-tool --database "${TEMPORAL_DBNAME}" setup-schema -v 0.0
temporal-sql-tool --database "${TEMPORAL_DBNAME}" update-schema --schema-name postgresql/v12/temporal

echo "temporal-schema: visibility database ${TEMPORAL_VISIBILITY_DBNAME}"
temporal-sql-tool --database "${TEMPORAL_VISIBILITY_DBNAME}" setup-schema -v 0.0
temporal-sql-tool --database "${TEMPORAL_VISIBILITY_DBNAME}" update-schema --schema-name postgresql/v12/visibility

echo "temporal-schema: done"
