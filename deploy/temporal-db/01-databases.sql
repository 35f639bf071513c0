-- Run once by the postgres image when the temporal-db volume is first initialised
-- (/docker-entrypoint-initdb.d): the two databases Temporal's server needs, owned by the
-- server's user. Their schema is the temporal-schema job's (deploy/temporal/setup-schema.sh),
-- which temporal-sql-tool keeps in step with the server version.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
