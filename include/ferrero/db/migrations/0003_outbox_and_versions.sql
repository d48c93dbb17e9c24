-- Transactional outbox: every outgoing message (status webhooks, emails, the per-derivative webhook) is
-- inserted, rendered, by the transaction that records its fact, under a deterministic key; a sender claims
-- one row at a time (FOR UPDATE SKIP LOCKED), sends, and marks it in the same transaction.
CREATE TABLE outbox_messages (
    id              BIGSERIAL PRIMARY KEY,
    message_key     TEXT NOT NULL UNIQUE,             -- deterministic per fact: a second insert is a no-op
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target          TEXT NOT NULL,                    -- email: the template; webhook: its name in webhooks.yaml
    campaign_id     TEXT,
    body            JSONB NOT NULL,                   -- rendered at the moment of the fact
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_messages_due_idx ON outbox_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_messages_campaign_idx ON outbox_messages (campaign_id);

-- One row per Box file version that became a DAM version (or the DAM asset), in the order they were processed.
CREATE TABLE derivative_versions (
    box_file_id         TEXT NOT NULL,
    box_file_version_id TEXT NOT NULL,
    box_position        INTEGER NOT NULL,             -- the version's place in the file's Box history (1 = first)
    tracking_id         CHAR(6) NOT NULL REFERENCES master_assets (tracking_id),
    file_name           TEXT NOT NULL,
    dam_asset_id        TEXT NOT NULL,
    dam_version         INTEGER,
    processed_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (box_file_id, box_file_version_id)
);

-- Derivatives that could not be uploaded (one row per Box file version; a later failure updates the reason).
CREATE TABLE derivative_failures (
    box_file_id         TEXT NOT NULL,
    box_file_version_id TEXT NOT NULL,
    file_name           TEXT,
    tracking_id         TEXT,
    campaign_id         TEXT,
    error               TEXT NOT NULL,
    dag_run_id          TEXT,
    failed_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (box_file_id, box_file_version_id)
);
