-- Failed uploads belong to their campaign whenever anything identifies it (steps/a2_to_a3.check_derivative,
-- db/derivatives.py owner_of). Earlier failures of a name that did not parse were stored without tracking ID or
-- campaign: give them the master their name leads with (six characters and the separator), when it is one.
UPDATE derivative_failures f
   SET tracking_id = ma.tracking_id, campaign_id = ma.campaign_id
  FROM master_assets ma
 WHERE f.campaign_id IS NULL
   AND ma.tracking_id = upper(substring(f.file_name FROM '^([0-9A-Za-z]{6})_'))::bpchar;
-- ... or the master an earlier version of the same Box file went to.
UPDATE derivative_failures f
   SET tracking_id = coalesce(f.tracking_id, v.tracking_id), campaign_id = ma.campaign_id
  FROM derivative_versions v JOIN master_assets ma ON ma.tracking_id = v.tracking_id
 WHERE f.campaign_id IS NULL AND v.box_file_id = f.box_file_id;
-- When each file was created in Box: a valid file for the same master created after a failed one supersedes
-- the failure (db/derivatives.py SUPERSEDED_BY); unknown (NULL) for rows recorded before.
ALTER TABLE derivative_failures ADD COLUMN IF NOT EXISTS box_created_at TIMESTAMPTZ;
ALTER TABLE derivative_versions ADD COLUMN IF NOT EXISTS box_created_at TIMESTAMPTZ;
