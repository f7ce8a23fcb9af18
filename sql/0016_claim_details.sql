-- What an encounter's claim carries beyond the basics, from intake (837P: referring provider
-- 2310A, service facility 2310C, REF*G1 prior authorization, REF*9F referral, CLM11 related
-- causes with the accident's state and DTP*439 date, DTP*431/454/304): one jsonb of
-- X12Claim.Details, NULL when the clinic sent none, and carried into each claim's snapshot.
ALTER TABLE encounters ADD COLUMN claim_details jsonb CHECK (claim_details IS NULL OR jsonb_typeof(claim_details) = 'object');

-- A line's anesthesia time (SV103 MJ, SV104 minutes) and the drug given on it (loop 2410: the
-- NDC in its 11-digit form, the unit and the quantity), as the coder records them.
ALTER TABLE service_lines
    ADD COLUMN anesthesia_minutes integer CHECK (anesthesia_minutes BETWEEN 1 AND 1440),
    ADD COLUMN ndc text CHECK (ndc ~ '^[0-9]{11}$'),
    ADD COLUMN ndc_unit text CHECK (ndc_unit IN ('F2', 'GR', 'ME', 'ML', 'UN')),
    ADD COLUMN ndc_quantity numeric(12, 3) CHECK (ndc_quantity > 0),
    ADD CONSTRAINT service_lines_drug_whole CHECK (num_nulls(ndc, ndc_unit, ndc_quantity) IN (0, 3));

-- A billing provider who is a person (a solo practitioner billing under their own NPI, 837P
-- 2010AA NM102 = 1): their name; both NULL for an organization.
ALTER TABLE practices
    ADD COLUMN individual_first_name text CHECK (length(individual_first_name) BETWEEN 1 AND 35),
    ADD COLUMN individual_last_name text CHECK (length(individual_last_name) BETWEEN 1 AND 60),
    ADD CONSTRAINT practices_individual_whole CHECK (num_nulls(individual_first_name, individual_last_name) IN (0, 2));

-- The snapshot function of 0014, with the details added when there are any, and each line's
-- anesthesia minutes and drug when it has them (so older lines snapshot exactly as before).
CREATE OR REPLACE FUNCTION claim_snapshot(
    claim_encounter_id uuid,
    claim_coding_version integer,
    claim_frequency_code text,
    replaced_payer_claim_number text,
    claim_total_charge numeric
) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
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
                'postalCode', pr.postal_code))
            -- A billing provider who is a person carries their name (older snapshots have none).
            || CASE WHEN pr.individual_last_name IS NOT NULL THEN jsonb_build_object('individual', jsonb_build_object(
                   'firstName', pr.individual_first_name, 'lastName', pr.individual_last_name)) ELSE '{}'::jsonb END,
        'renderingProvider', CASE WHEN v.id IS NOT NULL THEN jsonb_build_object(
            'npi', v.npi, 'firstName', v.first_name, 'lastName', v.last_name, 'taxonomy', v.taxonomy) END,
        'payer', CASE WHEN py.id IS NOT NULL THEN jsonb_build_object(
            'payerCode', py.payer_code, 'name', py.name, 'filingLimitDays', py.filing_limit_days,
            'claimFilingIndicator', py.claim_filing_indicator, 'acceptsCorrections', py.accepts_corrections,
            'correctedFilingLimitDays', py.corrected_filing_limit_days) END,
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
                (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                            'code', l.code, 'modifiers', to_jsonb(l.modifiers), 'units', l.units,
                            'charge', l.charge::text, 'pointers', to_jsonb(l.pointers),
                            'anesthesiaMinutes', l.anesthesia_minutes,
                            'drug', CASE WHEN l.ndc IS NOT NULL THEN jsonb_build_object(
                                'ndc', l.ndc, 'unit', l.ndc_unit, 'quantity', l.ndc_quantity) END))
                        ORDER BY l.line_number)
                 FROM service_lines l WHERE l.encounter_id = e.id AND l.version = claim_coding_version), '[]')))
        -- What the claim carries beyond the basics, as intake stored it (X12Claim.Details).
        || CASE WHEN e.claim_details IS NOT NULL THEN jsonb_build_object('details', e.claim_details) ELSE '{}'::jsonb END
    FROM encounters e
    JOIN practices pr ON pr.id = e.practice_id
    JOIN patients p ON p.id = e.patient_id
    LEFT JOIN subscribers s ON s.id = e.subscriber_id
    LEFT JOIN payers py ON py.id = e.payer_id
    LEFT JOIN providers v ON v.id = e.rendering_provider_id
    WHERE e.id = claim_encounter_id);
END $$;
