-- Indexes for the operator's cockpit (campaign pages), so each page reads only its campaign's rows.
CREATE INDEX IF NOT EXISTS master_transfers_campaign_idx
    ON master_transfers (campaign_id, dam_asset_id, updated_at DESC);
CREATE INDEX IF NOT EXISTS derivative_versions_file_idx ON derivative_versions (tracking_id, file_name);
CREATE INDEX IF NOT EXISTS derivative_versions_processed_idx ON derivative_versions (processed_at);
CREATE INDEX IF NOT EXISTS derivative_failures_campaign_idx ON derivative_failures (campaign_id, failed_at DESC);
CREATE INDEX IF NOT EXISTS master_transfers_failed_idx ON master_transfers (campaign_id) WHERE status = 'failed';
CREATE INDEX IF NOT EXISTS outbox_messages_unsent_idx ON outbox_messages (campaign_id) WHERE status <> 'sent';
