-- The HCPCS file's own dates for each Level II code and modifier: the day it was added and the
-- last day it may be billed (its termination date). The annual file keeps discontinued codes,
-- with their termination dates, so a release in force on a date can still hold codes that are
-- not billable on it; the handoff rules compare these dates with the date of service.
ALTER TABLE hcpcs_codes ADD COLUMN added_on date, ADD COLUMN terminated_on date;
ALTER TABLE code_modifiers ADD COLUMN added_on date, ADD COLUMN terminated_on date;

-- Releases imported before this migration were read without the dates. Their digest is set to
-- one no file has, so importing the same file again replaces the release, with the dates,
-- instead of reporting "already imported".
UPDATE code_set_releases SET source_sha256 = repeat('0', 64) WHERE kind = 'hcpcs';
