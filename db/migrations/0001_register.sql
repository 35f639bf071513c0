-- The register: authorities (councils, bodies, partners) and the cooperations (fiches) that
-- can be moved into DVV Midwest. Enumerated values mirror schemas/common.py; the CHECKs keep
-- the database honest for writers that bypass the pydantic models (psql, other tools).

-- Keeps updated_at truthful for every writer (repository, trajectory activities, psql).
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE authorities (
    id                text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name              text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind              text        NOT NULL CHECK (kind IN (
                                      'municipality', 'intercommunale', 'province',
                                      'dvv-body', 'external-partner')),
    is_midwest_member boolean     NOT NULL DEFAULT false,
    -- Weight at the algemene vergadering; configuration, not a constant of the decision rule.
    votes             integer     NOT NULL DEFAULT 1 CHECK (votes >= 0),
    website           text        CHECK (char_length(website) <= 200),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER authorities_updated_at BEFORE UPDATE ON authorities
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per fiche (2013, updated 2017). Column names are the CSV header names.
CREATE TABLE cooperations (
    id                        text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name                      text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind                      text        NOT NULL CHECK (kind IN (
                                              'projectvereniging', 'interlokale-vereniging',
                                              'shared-service', 'regional-role',
                                              'informal-overleg')),
    contact_point             text        CHECK (char_length(contact_point) <= 200),
    domain                    text        CHECK (char_length(domain) <= 200),
    core_task                 text        CHECK (char_length(core_task) <= 4000),
    cooperation_type          text        CHECK (char_length(cooperation_type) <= 200),
    inter_organisational_form text        CHECK (char_length(inter_organisational_form) <= 200),
    legal_form                text        CHECK (char_length(legal_form) <= 200),
    partners                  text        CHECK (char_length(partners) <= 4000),
    financing                 text        CHECK (char_length(financing) <= 4000),
    initiator                 text        CHECK (char_length(initiator) <= 200),
    founding_date             date,
    municipality_count        integer     CHECK (municipality_count >= 0),
    area                      text        CHECK (char_length(area) <= 4000),
    seat                      text        CHECK (char_length(seat) <= 200),
    staff_count               integer     CHECK (staff_count >= 0),
    remarks                   text        CHECK (char_length(remarks) <= 4000),
    status                    text        NOT NULL DEFAULT 'active' CHECK (status IN (
                                              'active', 'in-trajectory', 'integrated',
                                              'not-integrated', 'dissolved')),
    -- Only an integrated cooperation has an integration date (it may be unknown: NULL).
    integrated_on             date        CHECK (integrated_on IS NULL OR status = 'integrated'),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER cooperations_updated_at BEFORE UPDATE ON cooperations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE INDEX cooperations_status_idx ON cooperations (status);

-- The authorities taking part in a cooperation (its parties in a decision round). An authority
-- that still takes part somewhere cannot be deleted.
CREATE TABLE cooperation_members (
    cooperation_id text NOT NULL REFERENCES cooperations (id) ON DELETE CASCADE,
    authority_id   text NOT NULL REFERENCES authorities (id) ON DELETE RESTRICT,
    PRIMARY KEY (cooperation_id, authority_id)
);

CREATE INDEX cooperation_members_authority_idx ON cooperation_members (authority_id);
