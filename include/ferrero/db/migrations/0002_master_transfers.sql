-- Outcome of each master's transfer in an A1 -> A2 run, so the partial-result email can name every failure
-- and its reason (Airflow tasks cannot read other task instances' errors).
CREATE TABLE master_transfers (
    dag_run_id   TEXT NOT NULL,
    dam_asset_id TEXT NOT NULL,
    campaign_id  TEXT NOT NULL REFERENCES campaigns (campaign_id),
    asset_name   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    tracking_id  CHAR(6),
    box_file_id  TEXT,
    error        TEXT,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_run_id, dam_asset_id)
);
