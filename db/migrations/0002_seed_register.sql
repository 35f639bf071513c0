-- Seed of the register with what the organisation's own account (shared/seed) states.
-- ON CONFLICT DO NOTHING: a row already edited by people (CSV import, trajectories) is never
-- overwritten by the seed. Facts the account does not give (exact dates, which besturen took
-- part in some cooperations) are left NULL or explained in `remarks`, never invented.

-- The 16 local governments as in the 2021 account; later municipal mergers are not modelled
-- here and belong in a later migration or a CSV import.
INSERT INTO authorities (id, name, kind, is_midwest_member, votes, website) VALUES
    ('roeselare',     'Roeselare',     'municipality', true, 1, 'https://www.roeselare.be'),
    ('izegem',        'Izegem',        'municipality', true, 1, 'https://www.izegem.be'),
    ('tielt',         'Tielt',         'municipality', true, 1, 'https://www.tielt.be'),
    ('ardooie',       'Ardooie',       'municipality', true, 1, 'https://www.ardooie.be'),
    ('hooglede',      'Hooglede',      'municipality', true, 1, 'https://www.hooglede.be'),
    ('ingelmunster',  'Ingelmunster',  'municipality', true, 1, 'https://www.ingelmunster.be'),
    ('ledegem',       'Ledegem',       'municipality', true, 1, 'https://www.ledegem.be'),
    ('lichtervelde',  'Lichtervelde',  'municipality', true, 1, 'https://www.lichtervelde.be'),
    ('meulebeke',     'Meulebeke',     'municipality', true, 1, 'https://www.meulebeke.be'),
    ('moorslede',     'Moorslede',     'municipality', true, 1, 'https://www.moorslede.be'),
    ('oostrozebeke',  'Oostrozebeke',  'municipality', true, 1, 'https://www.oostrozebeke.be'),
    ('pittem',        'Pittem',        'municipality', true, 1, 'https://www.pittem.be'),
    ('ruiselede',     'Ruiselede',     'municipality', true, 1, 'https://www.ruiselede.be'),
    ('staden',        'Staden',        'municipality', true, 1, 'https://www.staden.be'),
    ('wielsbeke',     'Wielsbeke',     'municipality', true, 1, 'https://www.wielsbeke.be'),
    ('wingene',       'Wingene',       'municipality', true, 1, 'https://www.wingene.be')
ON CONFLICT (id) DO NOTHING;

-- WVI is a member of DVV Midwest; the province only has a cooperation protocol. Bodies and
-- partners that are not members carry no votes at the algemene vergadering.
INSERT INTO authorities (id, name, kind, is_midwest_member, votes, website) VALUES
    ('wvi', 'WVI (West-Vlaamse Intercommunale)', 'intercommunale', true, 1,
        'https://www.wvi.be'),
    ('provincie-west-vlaanderen', 'Provincie West-Vlaanderen', 'province', false, 0,
        'https://www.west-vlaanderen.be'),
    ('dvv-midwest-rvb', 'DVV Midwest, raad van bestuur', 'dvv-body', false, 0,
        'https://www.midwest.be'),
    ('dvv-midwest-av', 'DVV Midwest, algemene vergadering', 'dvv-body', false, 0,
        'https://www.midwest.be'),
    ('vdab', 'VDAB', 'external-partner', false, 0, 'https://www.vdab.be')
ON CONFLICT (id) DO NOTHING;

-- The cooperations whose inkanteling the account describes (section 3.2).
--
-- Statuses are the real history, with one deliberate exception: 'projectvereniging-bie'
-- (really integrated on 2020-12-01) and 'intergemeentelijk-archiefteam' (really integrated on
-- 2020-01-01) are seeded as 'active' so that demonstration trajectories can run on them. Their
-- `remarks` record the real integration.
--
-- 'sport-midwest' is seeded as an informal-overleg: the account describes it as grown out of
-- frequent overleg and started "onder de koepel van Midwest" with the 16 besturen; it names no
-- agreement or statutes of its own, which an interlokale vereniging would require.
INSERT INTO cooperations (
    id, name, kind, domain, core_task, legal_form, partners, municipality_count, remarks,
    status, integrated_on
) VALUES
    ('wijk-werken', 'Wijk-werken', 'regional-role', 'werk',
        'DVV Midwest organiseert wijk-werken regionaal, in nauwe samenwerking met VDAB.',
        NULL, 'VDAB', 16,
        'De 16 Midwest-besturen gingen akkoord om wijk-werken regionaal uit te bouwen.',
        'integrated', DATE '2018-01-01'),
    ('regierol-sociale-economie', 'Regierol sociale economie', 'regional-role',
        'sociale economie',
        'Regierol sociale economie in regio Midwest, voorheen ingebed in de structuur van het RESOC.',
        NULL, 'RESOC (verdwenen)', NULL,
        'Na het verdwijnen van het RESOC in 2019 ingekanteld in DVV Midwest, inclusief '
        'personeel; regionaal ingediend op de projectoproep om de werking te continueren. '
        'Exacte datum niet in de bron.',
        'integrated', NULL),
    ('regionaal-sportoverleg', 'Regionaal Sportoverleg', 'informal-overleg', 'sport',
        'Overleg rond sport; een van de 5 samenwerkingen rond sport in de regio.',
        NULL, NULL, 10,
        '9 Midwest-besturen en 1 niet-Midwestbestuur (niet bij naam in de bron). '
        'Opgegaan in Sport Midwest (2019) en in 2020 officieel ontbonden.',
        'dissolved', NULL),
    ('sport-midwest', 'Sport Midwest', 'informal-overleg', 'sport',
        'Regionale sportwerking van de 16 besturen onder de koepel van Midwest.',
        NULL, NULL, 16,
        'Opgestart in 2019 na overleg met sportfunctionarissen, algemeen directeurs, schepenen, '
        'burgemeesters en Sport Vlaanderen; bundelt de 5 vroegere samenwerkingen rond sport. '
        'Exacte datum niet in de bron.',
        'integrated', NULL),
    ('intergemeentelijk-archiefteam', 'Intergemeentelijk archiefteam', 'shared-service',
        'archief',
        'Ondersteunt een aantal besturen bij het analoge en digitale archief; aanzet tot een '
        'shared service center.',
        NULL, NULL, NULL,
        'Opgestart met een lokaal bestuur als trekkende gemeente. In werkelijkheid ingekanteld '
        'in DVV Midwest op 2020-01-01; hier actief gehouden voor demonstratietrajecten.',
        'active', NULL),
    ('projectvereniging-bie', 'Projectvereniging BIE', 'projectvereniging', 'cultuur en erfgoed',
        NULL, 'projectvereniging (rechtspersoon)', NULL, NULL,
        'In werkelijkheid ingekanteld in DVV Midwest op 2020-12-01 via het WVV (geen procedure '
        'in het DLB), onder externe juridische begeleiding en in afstemming met ABB; voortgezet '
        'als cultuur- en erfgoedplatform van Midwest. Hier actief gehouden voor '
        'demonstratietrajecten.',
        'active', NULL)
ON CONFLICT (id) DO NOTHING;

-- Members only where the account names them: all 16 for wijk-werken and Sport Midwest.
INSERT INTO cooperation_members (cooperation_id, authority_id)
SELECT c.id, a.id
FROM (VALUES ('wijk-werken'), ('sport-midwest')) AS c (id)
CROSS JOIN authorities AS a
WHERE a.kind = 'municipality' AND a.is_midwest_member
ON CONFLICT DO NOTHING;
