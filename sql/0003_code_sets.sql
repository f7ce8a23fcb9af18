-- Code sets from the official files, each import a release with the dates it is in force,
-- so a claim is judged against the release in force on its date of service.
CREATE TABLE code_set_releases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('icd10cm', 'hcpcs', 'cpt', 'ncci_ptp', 'mue')),
    label           text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    effective_from  date NOT NULL,
    -- Last day in force; NULL while no later release has been loaded.
    effective_to    date,
    source_sha256   text NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    row_count       integer NOT NULL CHECK (row_count >= 0),
    imported_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, label),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
CREATE INDEX code_set_releases_in_force ON code_set_releases (kind, effective_from DESC);

CREATE TABLE icd10cm_codes (
    release_id        bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code              text NOT NULL CHECK (code ~ '^[A-Z][0-9A-Z]{2,6}$'),
    billable          boolean NOT NULL,
    -- For a header: the first billable code under it, to suggest to the coder.
    suggestion        text,
    short_description text NOT NULL,
    long_description  text NOT NULL,
    PRIMARY KEY (release_id, code)
);
-- "Is this code in any release?" tells a code not in force from an unknown one.
CREATE INDEX icd10cm_codes_code ON icd10cm_codes (code);

CREATE TABLE hcpcs_codes (
    release_id        bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code              text NOT NULL CHECK (code ~ '^[A-Z][0-9]{4}$'),
    short_description text NOT NULL,
    long_description  text NOT NULL,
    PRIMARY KEY (release_id, code)
);

-- Modifiers come with the HCPCS file (its modifier records).
CREATE TABLE code_modifiers (
    release_id  bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code        text NOT NULL CHECK (code ~ '^[0-9A-Z]{2}$'),
    description text NOT NULL,
    PRIMARY KEY (release_id, code)
);

-- A CPT licensee's own table (code and short description); CPT text is the AMA's.
CREATE TABLE cpt_codes (
    release_id        bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code              text NOT NULL CHECK (code ~ '^([0-9]{5}|[0-9]{4}[FTU])$'),
    short_description text NOT NULL,
    PRIMARY KEY (release_id, code)
);

CREATE TABLE ncci_ptp_edits (
    release_id         bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    column1            text NOT NULL,
    column2            text NOT NULL,
    effective_date     date NOT NULL,
    deletion_date      date,
    modifier_indicator smallint NOT NULL CHECK (modifier_indicator IN (0, 1, 9)),
    PRIMARY KEY (release_id, column1, column2, effective_date)
);
CREATE INDEX ncci_ptp_edits_column2 ON ncci_ptp_edits (release_id, column2);

CREATE TABLE mue_limits (
    release_id             bigint NOT NULL REFERENCES code_set_releases (id) ON DELETE CASCADE,
    code                   text NOT NULL,
    max_units              integer NOT NULL CHECK (max_units >= 0),
    adjudication_indicator text,
    rationale              text,
    PRIMARY KEY (release_id, code)
);

-- The findings of the latest handoff check of each coding version, shown to the coder.
CREATE TABLE handoff_findings (
    encounter_id uuid NOT NULL REFERENCES encounters (id),
    version      integer NOT NULL,
    checked_at   timestamptz NOT NULL DEFAULT now(),
    findings     jsonb NOT NULL,
    PRIMARY KEY (encounter_id, version)
);

-- The handoff worker's scan for coded encounters.
CREATE INDEX encounters_coded ON encounters (updated_at) WHERE stage = 'coded';
