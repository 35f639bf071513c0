-- The register's facts about how a structure began and ended, and who hosts a shared service;
-- seeded with what the organisation's own account (shared/seed) states and nothing more.
-- Enumerated values mirror schemas/register.py (EndReason); the CHECKs keep the database
-- honest for writers that bypass the models (psql, other tools), as in 0001.

-- --- DVV Midwest itself ------------------------------------------------------------------------
--
-- The association gets a table of its own rather than a row among the authorities or the
-- cooperations:
-- * the authorities are the parties that decide and vote (the councils, WVI) and the bodies
--   they decide in (dvv-midwest-rvb, dvv-midwest-av); a row for the association there would be
--   offered as a party to a decision round and listed with the authorities members refer to;
-- * the cooperations are the fiches of structures to be moved into DVV Midwest; a row for the
--   receiving association would appear in `register list` as something to integrate, a
--   trajectory could be started for it, and a dienstverlenende vereniging is none of the kinds
--   of cooperation that are moved (CooperationKind).
-- Its members are not copied here: they are the authorities with is_midwest_member (the 16
-- local governments and WVI), so membership has one home.
CREATE TABLE associations (
    id         text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    legal_form text        NOT NULL CHECK (char_length(legal_form) BETWEEN 1 AND 200),
    founded_on date        NOT NULL,
    remarks    text        CHECK (char_length(remarks) <= 4000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER associations_updated_at BEFORE UPDATE ON associations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- "... resulteerde dit in de oprichting van DVV Midwest op 22 december 2017. In DVV Midwest
-- participeren 16 lokale besturen en WVI." (account, 1.1)
INSERT INTO associations (id, name, legal_form, founded_on, remarks) VALUES
    ('dvv-midwest', 'DVV Midwest', 'dienstverlenende vereniging', DATE '2017-12-22',
        'Opgericht op 22 december 2017 door de 16 lokale besturen van de regio '
        'Midden-West-Vlaanderen en WVI; voortgekomen uit het Midwestoverleg (sinds 2005) en de '
        'interlokale vereniging (2012). Met de provincie West-Vlaanderen is een '
        'samenwerkingsprotocol afgesloten.')
ON CONFLICT (id) DO NOTHING;

-- --- How a cooperation ended ---------------------------------------------------------------------
--
-- Beside the statuses of 0001, a cooperation that ended without being integrated keeps how:
-- * status 'dissolved' (ontbonden): when, and a note;
-- * status 'not-integrated': why (end_reason: 'continued-outside-region', verder gezet door de
--   besturen buiten de regio; or 'ended', opgeheven), when if known, and a note.
-- An integrated cooperation keeps integrated_on (0001): its old structure ended with the move.
--
-- When: ended_year is the year the end is known to fall in; ended_on the exact day, only when
-- the source gives it (and then in that year). A source that says "in 2020" is recorded as
-- ended_year 2020 and ended_on NULL: never as 1 January, which nobody could tell from a day
-- that is really known.
ALTER TABLE cooperations
    ADD COLUMN end_reason text    CHECK (end_reason IN ('continued-outside-region', 'ended')),
    ADD COLUMN ended_year integer CHECK (ended_year BETWEEN 1800 AND 9999),
    ADD COLUMN ended_on   date,
    ADD COLUMN end_note   text    CHECK (char_length(end_note) <= 4000),
    -- The local government that hosts a shared service (de trekkende gemeente); RESTRICT, like
    -- the members: an authority that still hosts one cannot be deleted.
    ADD COLUMN host       text    REFERENCES authorities (id) ON DELETE RESTRICT;

-- Named constraints, so a refusal from the database says which rule was broken.
ALTER TABLE cooperations
    -- The end facts belong to an ended cooperation only (as integrated_on to an integrated one),
    -- and the reason to a not-integrated one. They may be NULL on an ended row: a row set to
    -- 'dissolved' before this migration (psql, a tool) has no known date.
    ADD CONSTRAINT cooperations_end_only_when_ended CHECK (
        (end_reason IS NULL AND ended_year IS NULL AND ended_on IS NULL AND end_note IS NULL)
        OR status IN ('dissolved', 'not-integrated')),
    ADD CONSTRAINT cooperations_reason_only_when_not_integrated CHECK (
        end_reason IS NULL OR status = 'not-integrated'),
    ADD CONSTRAINT cooperations_end_day_in_end_year CHECK (
        ended_on IS NULL OR ended_year IS NOT DISTINCT FROM extract(year FROM ended_on)::integer),
    -- Nothing ends before it was founded: the day when both are days, else the year.
    ADD CONSTRAINT cooperations_not_ended_before_founded CHECK (
        founding_date IS NULL OR ended_year IS NULL
        OR coalesce(ended_on >= founding_date,
                    ended_year >= extract(year FROM founding_date)::integer)),
    ADD CONSTRAINT cooperations_host_only_for_shared_service CHECK (
        host IS NULL OR kind = 'shared-service');

CREATE INDEX cooperations_host_idx ON cooperations (host);

-- --- The facts the account states ------------------------------------------------------------
--
-- Only rows that still hold what 0002 seeded are updated: a row people changed since (an
-- import, a trajectory) keeps what they recorded.

-- "Het Regionaal Sportoverleg is in 2020 officieel ontbonden." (account, 3.2.3): the year, not
-- the day.
UPDATE cooperations
SET ended_year = 2020,
    end_note = 'Het Regionaal Sportoverleg is in 2020 officieel ontbonden (exacte datum niet in '
               'de bron); de werking is opgegaan in Sport Midwest (2019).'
WHERE id = 'regionaal-sportoverleg' AND status = 'dissolved' AND ended_year IS NULL;

-- Members stay as 0002 left them (the 16 for wijk-werken and Sport Midwest); the account names
-- no other members, so none is added:
-- * regionaal-sportoverleg: "9 Midwest-besturen en 1 niet-Midwestbestuur", none by name;
-- * intergemeentelijk-archiefteam: "ondersteunt een aantal besturen", none by name;
-- * projectvereniging-bie: "in samenwerking met de betrokken partners", none by name;
-- * regierol-sociale-economie: "de besturen hebben zich geëngageerd", without saying which.
-- The archiefteam was "opgestart met een lokaal bestuur als trekkende gemeente" (3.2.4): the
-- account does not say which, so its host stays NULL until someone who knows fills it in
-- (the `host` column of a fiche import).
--
-- The other sport cooperations "worden verder gezet door de besturen buiten regio Midwest of
-- zijn opgeheven" (3.2.3): the account names neither them nor which of them did what, so they
-- are not seeded; an import adds them and end_reason records what became of each.
