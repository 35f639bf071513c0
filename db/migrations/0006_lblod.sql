-- LBLOD: where the register's authorities publish their decisions, which Bestuursorganen are
-- theirs, what agenda item each trajectory looks for, and which publications were read.
-- Nothing is seeded: the account in shared/seed names no Bestuursorgaan URI and no
-- publication address of a member, and a URI that is guessed would match other councils'
-- decisions. They are registered with `starter.py lblod body add` and `lblod source`.
--
-- ON DELETE CASCADE: these rows describe an authority or cooperation and mean nothing
-- without it.

-- A Bestuursorgaan URI (lasting or "in time") identifies one authority's body; a URI names
-- one body, so it belongs to one authority.
CREATE TABLE lblod_bodies (
    uri          text        PRIMARY KEY CHECK (uri ~ '^https?://' AND char_length(uri) <= 500),
    authority_id text        NOT NULL REFERENCES authorities (id) ON DELETE CASCADE,
    label        text        CHECK (char_length(label) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lblod_bodies_authority_idx ON lblod_bodies (authority_id);

-- Where an authority publishes (the page of its latest decisions), and whether the harvester
-- reads it. Off unless someone turns it on.
CREATE TABLE lblod_sources (
    authority_id    text        PRIMARY KEY REFERENCES authorities (id) ON DELETE CASCADE,
    publication_url text        CHECK (publication_url ~ '^https?://'
                                       AND char_length(publication_url) <= 1000),
    harvest         boolean     NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT harvest OR publication_url IS NOT NULL)
);
CREATE TRIGGER lblod_sources_updated_at BEFORE UPDATE ON lblod_sources
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The agenda-item patterns of a cooperation's trajectory (any one matching is enough). No
-- row: the default, the cooperation's name and "statutenwijziging DVV Midwest".
CREATE TABLE lblod_patterns (
    cooperation_id text        PRIMARY KEY REFERENCES cooperations (id) ON DELETE CASCADE,
    patterns       text[]      NOT NULL CHECK (cardinality(patterns) BETWEEN 1 AND 20),
    updated_by     text        NOT NULL CHECK (char_length(updated_by) BETWEEN 1 AND 200),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER lblod_patterns_updated_at BEFORE UPDATE ON lblod_patterns
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Publications the harvester has read: a URL with the same content is read once; a page
-- that changed is another publication (another sha256) and is read again.
CREATE TABLE lblod_readings (
    url         text        NOT NULL CHECK (char_length(url) <= 1000),
    sha256      text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    read_at     timestamptz NOT NULL DEFAULT now(),
    recorded    integer     NOT NULL DEFAULT 0 CHECK (recorded >= 0),
    summary     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (url, sha256)
);
