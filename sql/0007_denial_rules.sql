-- How a denial is routed: by (group code, CARC, RARC, payer) rules, not by the CARC alone.
-- ClaimFlowCore's DenialRouting.route reads the rules: among every (rule, adjustment) pair
-- that matches (each non-NULL column equal; the RARC among the claim's remark codes; the
-- payer equal), the lowest precedence wins, then the more specific rule (more non-NULL
-- columns), then the lower id. A NULL column matches anything.
--
-- Data, not code: a billing office changes an action (timely filing: appeal or write off),
-- or adds its own rule for one payer at the same precedence, which then wins by being more
-- specific. coding_denial_reasons stays for now; the coding rules below are seeded from it,
-- so the two agree.
--
-- Precedence bands of the defaults (lower wins when one claim carries several reasons):
--     10  duplicate claim: nothing else matters
--     20  eligibility: not this payer or no coverage; coding fixes would not help
--     30  timely filing
--    100  coding CARCs (a coder fixes the claim)
--    110  CARC 16 whose RARC names a diagnosis problem (coding)
--    120  CARC 16 otherwise (billing), and with MA130 (unprocessable: a new original)
--    200  medical necessity and authorization (appeal)
--    300  patient responsibility
--    800  adjustments that are not denials (contractual write-offs, prior payer)
--    900  catch-all per group
--    999  catch-all for anything else (CR, or a group code added later)
CREATE TABLE denial_rules (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_code  text CHECK (group_code IN ('CO', 'CR', 'OA', 'PI', 'PR')),
    carc        text CHECK (carc ~ '^[A-Z0-9]{1,5}$'),
    rarc        text CHECK (rarc ~ '^(M|MA|N)[0-9]{1,4}$'),
    -- The payer's id as its 835 gives it (REF*2U, else N104); the same format as payers.payer_code.
    payer_code  text CHECK (payer_code ~ '^[A-Za-z0-9]{2,80}$'),
    precedence  integer NOT NULL CHECK (precedence >= 0),
    queue       text NOT NULL CHECK (queue IN ('coding', 'billing', 'patient')),
    action      text NOT NULL CHECK (action IN ('corrected_claim', 'new_original', 'void', 'appeal', 'write_off',
                                                'bill_patient', 'eligibility_review', 'no_resend')),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 300),
    -- A rule cannot be entered twice: NULL (any) counts as one value here.
    CONSTRAINT denial_rules_match_key UNIQUE NULLS NOT DISTINCT (group_code, carc, rarc, payer_code)
);

INSERT INTO denial_rules (group_code, carc, rarc, precedence, queue, action, description) VALUES
    ('CO', '18', NULL, 10, 'billing', 'no_resend', 'Exact duplicate claim/service: the payer already has it'),
    ('OA', '18', NULL, 10, 'billing', 'no_resend', 'Exact duplicate claim/service: the payer already has it'),
    ('CO', '22', NULL, 20, 'billing', 'eligibility_review',
        'This care may be covered by another payer per coordination of benefits'),
    ('CO', '26', NULL, 20, 'billing', 'eligibility_review', 'Expenses incurred prior to coverage'),
    ('CO', '27', NULL, 20, 'billing', 'eligibility_review', 'Expenses incurred after coverage terminated'),
    ('CO', '31', NULL, 20, 'billing', 'eligibility_review', 'Patient cannot be identified as our insured'),
    ('CO', '109', NULL, 20, 'billing', 'eligibility_review',
        'Claim/service not covered by this payer/contractor: send it to the correct payer'),
    ('CO', '29', NULL, 30, 'billing', 'appeal',
        'The time limit for filing has expired: appeal with proof of timely filing, or write off');

-- The coding CARCs, under every group a payer uses to deny (PR means the patient is liable,
-- which the patient rules handle).
INSERT INTO denial_rules (group_code, carc, precedence, queue, action, description)
SELECT g.group_code, r.carc, 100, 'coding', 'corrected_claim', 'Coding: ' || r.description
FROM coding_denial_reasons r
CROSS JOIN (VALUES ('CO', 1), ('OA', 2), ('PI', 3)) AS g (group_code, position)
ORDER BY g.position, length(r.carc), r.carc;

INSERT INTO denial_rules (group_code, carc, rarc, precedence, queue, action, description) VALUES
    ('CO', '16', 'M76', 110, 'coding', 'corrected_claim', 'Missing/incomplete/invalid diagnosis or condition'),
    ('CO', '16', 'M81', 110, 'coding', 'corrected_claim', 'Diagnosis not coded to the highest level of specificity'),
    ('CO', '16', 'MA63', 110, 'coding', 'corrected_claim', 'Missing/incomplete/invalid principal diagnosis'),
    ('CO', '16', 'M64', 110, 'coding', 'corrected_claim', 'Missing/incomplete/invalid other diagnosis'),
    ('CO', '16', 'MA130', 120, 'billing', 'new_original',
        'Unprocessable claim (missing information, no appeal rights): submit a new claim'),
    ('CO', '16', NULL, 120, 'billing', 'corrected_claim', 'Claim/service lacks information or has submission/billing error(s)'),
    ('CO', '50', NULL, 200, 'billing', 'appeal', 'Not deemed a medical necessity by the payer'),
    ('CO', '197', NULL, 200, 'billing', 'appeal', 'Precertification/authorization/notification absent'),
    ('CO', '15', NULL, 200, 'billing', 'appeal', 'The authorization number is missing, invalid, or does not apply'),
    ('PR', '1', NULL, 300, 'patient', 'bill_patient', 'Deductible amount'),
    ('PR', '2', NULL, 300, 'patient', 'bill_patient', 'Coinsurance amount'),
    ('PR', '3', NULL, 300, 'patient', 'bill_patient', 'Co-payment amount'),
    ('PR', '96', NULL, 300, 'patient', 'bill_patient', 'Non-covered charge(s), patient liable'),
    ('PR', '204', NULL, 300, 'patient', 'bill_patient', 'Service not covered under the patient''s current benefit plan'),
    ('CO', '45', NULL, 800, 'billing', 'write_off', 'Charge exceeds fee schedule/maximum allowable: contractual'),
    ('CO', '253', NULL, 800, 'billing', 'write_off', 'Sequestration: reduction of federal payment'),
    ('OA', '23', NULL, 800, 'billing', 'no_resend', 'The impact of prior payer(s) adjudication including payments'),
    ('CO', NULL, NULL, 900, 'billing', 'appeal', 'Any other contractual obligation denial'),
    ('OA', NULL, NULL, 900, 'billing', 'appeal', 'Any other adjustment'),
    ('PI', NULL, NULL, 900, 'billing', 'appeal', 'Any other payer initiated reduction'),
    ('PR', NULL, NULL, 900, 'patient', 'bill_patient', 'Any other patient responsibility'),
    (NULL, NULL, NULL, 999, 'billing', 'appeal', 'Any adjustment no other rule routes');
