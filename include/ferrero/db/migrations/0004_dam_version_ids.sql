-- Every DAM version has its own asset id (linked by the logical id, original_asset_id). dam_asset_id stays the
-- logical id; the latest version's own id is kept beside it (the next check-out and PATCH address it), and each
-- processed Box version records the DAM version's own id.
ALTER TABLE derivative_assets ADD COLUMN dam_latest_asset_id TEXT;
ALTER TABLE derivative_versions ADD COLUMN dam_version_asset_id TEXT;
