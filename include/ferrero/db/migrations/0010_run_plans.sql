-- What an A1 -> A2 run planned besides its masters' order, so that a transfer_master instance reads all it needs
-- with one query and no XCom: the campaign's summary (its Box folders, its Final Assets folder...), and each
-- master's DAM record as the planning listed it (metadata and size), which the first try of its transfer uses
-- instead of reading the asset again. Runs planned before this migration have neither: plan them again.
CREATE TABLE run_plans (
    dag_run_id  TEXT PRIMARY KEY,
    campaign    JSONB NOT NULL,
    planned_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE run_masters ADD COLUMN dam_asset JSONB;
