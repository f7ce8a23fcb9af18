-- A claim version is an immutable snapshot taken at handoff: everything its 837P and the
-- biller's view need, so a later intake that updates a shared patient or subscriber, or an
-- admin who edits a practice, provider or payer, changes no claim the handoff check passed.
--
-- One jsonb column rather than snapshot tables: a claim version is written once and read
-- whole (by the 837P writer and the biller's view), never searched or joined by its parts,
-- so a document keeps the write to one row and the read to one column, and the rule "it
-- never changes" is one trigger on one column instead of one per table. Its keys are the
-- Codable keys of ClaimFlowCore's record types (Practice, Person, Payer, CodeAssignment,
-- X12Claim.RenderingProvider), so the store decodes it into them with no mapping of its own.
-- Money is written as text ("125.00"), as MoneyAmount reads it, so no amount passes through
-- binary floating point.
ALTER TABLE claims ADD COLUMN snapshot jsonb;

-- The snapshot of one claim version, taken from the live rows of its encounter and coding
-- version. Frequency, the replaced claim's payer claim number (REF*F8) and the total come
-- from the claim row being written.
CREATE FUNCTION claim_snapshot(
    claim_encounter_id uuid,
    claim_coding_version integer,
    claim_frequency_code text,
    replaced_payer_claim_number text,
    claim_total_charge numeric
) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'frequencyCode', claim_frequency_code,
        'replacedPayerClaimNumber', CASE WHEN claim_frequency_code <> '1' THEN replaced_payer_claim_number END,
        'totalCharge', claim_total_charge::text,
        'dateOfService', e.date_of_service::text,
        'placeOfService', e.place_of_service,
        'billingProvider', jsonb_build_object(
            'id', pr.id, 'code', pr.code, 'name', pr.name, 'npi', pr.npi, 'taxID', pr.tax_id,
            'taxonomy', pr.taxonomy, 'segregateDuties', pr.segregate_duties,
            'address', jsonb_build_object(
                'line1', pr.address_line1, 'line2', pr.address_line2, 'city', pr.city, 'state', pr.state,
                'postalCode', pr.postal_code)),
        'renderingProvider', CASE WHEN v.id IS NOT NULL THEN jsonb_build_object(
            'npi', v.npi, 'firstName', v.first_name, 'lastName', v.last_name, 'taxonomy', v.taxonomy) END,
        'payer', CASE WHEN py.id IS NOT NULL THEN jsonb_build_object(
            'payerCode', py.payer_code, 'name', py.name, 'filingLimitDays', py.filing_limit_days) END,
        'memberID', s.member_id,
        'groupNumber', s.group_number,
        'relationship', e.patient_relationship,
        'subscriber', CASE WHEN s.id IS NOT NULL THEN jsonb_build_object(
            'firstName', s.first_name, 'lastName', s.last_name, 'birthDate', s.birth_date::text, 'sex', s.sex,
            'address', CASE WHEN num_nulls(s.address_line1, s.city, s.state, s.postal_code) = 0 THEN jsonb_build_object(
                'line1', s.address_line1, 'city', s.city, 'state', s.state, 'postalCode', s.postal_code) END) END,
        'patient', jsonb_build_object(
            'firstName', p.first_name, 'lastName', p.last_name, 'birthDate', p.birth_date::text, 'sex', p.sex,
            'address', CASE WHEN num_nulls(p.address_line1, p.city, p.state, p.postal_code) = 0 THEN jsonb_build_object(
                'line1', p.address_line1, 'city', p.city, 'state', p.state, 'postalCode', p.postal_code) END),
        'codes', jsonb_build_object(
            'diagnoses', coalesce(
                (SELECT jsonb_agg(d.code ORDER BY d.position) FROM diagnoses d
                 WHERE d.encounter_id = e.id AND d.version = claim_coding_version), '[]'),
            'lines', coalesce(
                (SELECT jsonb_agg(jsonb_build_object(
                            'code', l.code, 'modifiers', to_jsonb(l.modifiers), 'units', l.units,
                            'charge', l.charge::text, 'pointers', to_jsonb(l.pointers))
                        ORDER BY l.line_number)
                 FROM service_lines l WHERE l.encounter_id = e.id AND l.version = claim_coding_version), '[]')))
    FROM encounters e
    JOIN practices pr ON pr.id = e.practice_id
    JOIN patients p ON p.id = e.patient_id
    LEFT JOIN subscribers s ON s.id = e.subscriber_id
    LEFT JOIN payers py ON py.id = e.payer_id
    LEFT JOIN providers v ON v.id = e.rendering_provider_id
    WHERE e.id = claim_encounter_id
$$;

-- Claim versions from before snapshots: taken now from the live rows, which is what their
-- 837P was built from until this migration. A replacement's REF*F8 number is the replaced
-- claim's, as the version carried it when it was made (its own column may since hold the
-- payer's number for the replacement itself).
UPDATE claims c
SET snapshot = claim_snapshot(
        c.encounter_id, c.coding_version, c.frequency_code,
        coalesce((SELECT r.payer_claim_number FROM claims r WHERE r.id = c.replaces_claim_id), c.payer_claim_number),
        c.total_charge);

ALTER TABLE claims
    ALTER COLUMN snapshot SET NOT NULL,
    -- The row's own frequency and total are the snapshot's, so neither can drift from it.
    ADD CONSTRAINT claims_snapshot_frequency CHECK (snapshot ->> 'frequencyCode' = frequency_code),
    ADD CONSTRAINT claims_snapshot_total CHECK ((snapshot ->> 'totalCharge')::numeric = total_charge);

-- A version inserted without a snapshot (a handoff) has one taken from the live rows as it
-- goes in; a version made from an earlier one (a payer's rejection or denial) brings a copy.
CREATE FUNCTION take_claim_snapshot() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.snapshot IS NULL THEN
        NEW.snapshot := claim_snapshot(
            NEW.encounter_id, NEW.coding_version, NEW.frequency_code, NEW.payer_claim_number, NEW.total_charge);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER claims_snapshot_taken
    BEFORE INSERT ON claims
    FOR EACH ROW EXECUTE FUNCTION take_claim_snapshot();

-- Once written, a snapshot never changes, whoever asks (the owner included): a correction is
-- a new claim version.
CREATE FUNCTION refuse_claim_snapshot_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the snapshot of claim version % never changes; a correction is a new version', OLD.id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'claims_snapshot_immutable';
END $$;

CREATE TRIGGER claims_snapshot_immutable
    BEFORE UPDATE ON claims
    FOR EACH ROW WHEN (OLD.snapshot IS DISTINCT FROM NEW.snapshot)
    EXECUTE FUNCTION refuse_claim_snapshot_change();
