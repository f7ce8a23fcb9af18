-- The ICD-10-CM tabular's notes the handoff rules use, imported from the CDC's tabular XML as
-- a code-set release of its own kind (icd10cm_tabular), in force by date of service like the rest.
ALTER TABLE code_set_releases DROP CONSTRAINT code_set_releases_kind_check;
ALTER TABLE code_set_releases ADD CONSTRAINT code_set_releases_kind_check
    CHECK (kind IN ('icd10cm', 'hcpcs', 'cpt', 'ncci_ptp', 'mue', 'icd10cm_tabular'));

-- An Excludes1 note: the codes from `excluded_from` through `excluded_through` (prefixes, no
-- dots, compared on their own length) never go on a claim with a code under `code_prefix`.
CREATE TABLE icd10cm_excludes1 (
    release_id       bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code_prefix      text NOT NULL CHECK (code_prefix ~ '^[A-Z][0-9][0-9A-Z]{1,5}$'),
    excluded_from    text NOT NULL CHECK (excluded_from ~ '^[A-Z][0-9][0-9A-Z]{1,5}$'),
    excluded_through text NOT NULL CHECK (excluded_through ~ '^[A-Z][0-9][0-9A-Z]{1,5}$'),
    PRIMARY KEY (release_id, code_prefix, excluded_from, excluded_through)
);

-- Manifestation codes and categories ("... in diseases classified elsewhere"): never first.
CREATE TABLE icd10cm_manifestations (
    release_id  bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code_prefix text NOT NULL CHECK (code_prefix ~ '^[A-Z][0-9][0-9A-Z]{1,5}$'),
    PRIMARY KEY (release_id, code_prefix)
);

-- The physician fee schedule's indicators for the modifier rules, imported from the CMS RVU
-- file as kind pfs_rvu: PC/TC (0-9: whether 26 and TC apply) and bilateral surgery (0-3, 9).
ALTER TABLE code_set_releases DROP CONSTRAINT code_set_releases_kind_check;
ALTER TABLE code_set_releases ADD CONSTRAINT code_set_releases_kind_check
    CHECK (kind IN ('icd10cm', 'hcpcs', 'cpt', 'ncci_ptp', 'mue', 'icd10cm_tabular', 'pfs_rvu'));

CREATE TABLE fee_schedule_indicators (
    release_id   bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code         text NOT NULL CHECK (code ~ '^([0-9]{5}|[0-9]{4}[FTU]|[A-Z][0-9]{4})$'),
    pc_tc        smallint NOT NULL CHECK (pc_tc BETWEEN 0 AND 9),
    bilateral    smallint CHECK (bilateral BETWEEN 0 AND 9),
    PRIMARY KEY (release_id, code)
);
