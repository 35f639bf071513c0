-- What the five real cases need of the register and the projection.

-- The name an integrated cooperation's work continues under in DVV Midwest: "waarna de werking
-- wordt gecontinueerd als het cultuur- en erfgoedplatform van Midwest" (account, 3.2.5). Set
-- by the trajectory's mark-integrated action, cleared when an abort restores the cooperation.
ALTER TABLE cooperations
    ADD COLUMN continued_as text CHECK (char_length(continued_as) BETWEEN 1 AND 200),
    ADD CONSTRAINT cooperations_continued_only_when_integrated CHECK (
        continued_as IS NULL OR status = 'integrated');

-- An informal overleg has no general assembly (no statute route): its trajectory carries no
-- planned assembly date.
ALTER TABLE trajectories ALTER COLUMN planned_av_date DROP NOT NULL;

-- The assessor of a project call a regional role applies to after the assembly ("Er is
-- vervolgens regionaal ingediend op de projectoproep", account 3.2.2). The account does not
-- say which government organised the call, so the party is named by its role only.
INSERT INTO authorities (id, name, kind, is_midwest_member, votes, website) VALUES
    ('projectoproep', 'Beoordelaar van de projectoproep', 'external-partner', false, 0, NULL)
ON CONFLICT (id) DO NOTHING;
