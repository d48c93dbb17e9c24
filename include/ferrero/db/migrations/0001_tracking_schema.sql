-- Tracking database: campaigns, their status history, masters with their tracking IDs, derivatives,
-- and the Box webhook events received.

CREATE TABLE campaigns (
    campaign_id            TEXT PRIMARY KEY,              -- the DAM folder's asset id
    campaign_number        TEXT,
    name                   TEXT NOT NULL,
    status                 TEXT,                          -- last status seen or set by us
    box_folder_id          TEXT,
    box_folder_url         TEXT,
    final_assets_folder_id TEXT,                          -- DAM folder that receives the derivatives
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per status flip we made. `cycle` counts how many times the campaign entered `old_status`
-- through our discovery, so a campaign that comes back to A1 later can flip again, once per cycle.
CREATE TABLE campaign_status_changes (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (campaign_id),
    old_status  TEXT NOT NULL,
    new_status  TEXT NOT NULL,
    cycle       INTEGER NOT NULL DEFAULT 1,
    dag_run_id  TEXT,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    webhook_sent_at TIMESTAMPTZ,
    email_sent_at   TIMESTAMPTZ,
    UNIQUE (campaign_id, old_status, new_status, cycle)
);

CREATE TABLE master_assets (
    id                     BIGSERIAL PRIMARY KEY,
    tracking_id            CHAR(6) NOT NULL UNIQUE CHECK (tracking_id ~ '^[0-9A-HJKMNP-TV-Z]{6}$'),
    dam_asset_id           TEXT NOT NULL UNIQUE,          -- the same master keeps its tracking ID forever
    campaign_id            TEXT NOT NULL REFERENCES campaigns (campaign_id),
    name                   TEXT NOT NULL,
    dam_metadata           JSONB NOT NULL DEFAULT '{}'::jsonb,
    box_file_id            TEXT,
    box_file_url           TEXT,
    upload_folder_id       TEXT,                          -- the DAM Final Assets folder for its derivatives
    status                 TEXT NOT NULL DEFAULT 'active',
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX master_assets_campaign_idx ON master_assets (campaign_id);

CREATE TABLE derivative_assets (
    id                  BIGSERIAL PRIMARY KEY,
    tracking_id         CHAR(6) NOT NULL REFERENCES master_assets (tracking_id),
    master_asset_id     BIGINT NOT NULL REFERENCES master_assets (id),
    file_name           TEXT NOT NULL,                    -- the name as uploaded to Box
    clean_name          TEXT,
    box_file_id         TEXT,
    box_file_version_id TEXT,
    dam_asset_id        TEXT,
    upload_status       TEXT NOT NULL DEFAULT 'completed',
    last_error          TEXT,
    uploaded_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tracking_id, file_name)
);
CREATE INDEX derivative_assets_dam_asset_idx ON derivative_assets (dam_asset_id);

CREATE TABLE box_webhook_events (
    id                  BIGSERIAL PRIMARY KEY,
    event_id            TEXT NOT NULL UNIQUE,             -- Box's event id: the same across redeliveries
    delivery_id         TEXT,
    trigger             TEXT NOT NULL,
    box_file_id         TEXT,
    box_file_version_id TEXT,
    file_name           TEXT,
    parent_folder_id    TEXT,
    created_by_id       TEXT,
    payload             JSONB NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'triggered', 'ignored', 'failed')),
    ignore_reason       TEXT,
    dag_run_id          TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    received_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    triggered_at        TIMESTAMPTZ
);
CREATE INDEX box_webhook_events_pending_idx ON box_webhook_events (status) WHERE status = 'pending';
