-- The masters an A1 -> A2 run planned, in map order: each transfer_master instance reads its own by position,
-- so no task pulls the whole list through XCom (which grew with the campaign: quadratic at 1,500 masters).
CREATE TABLE run_masters (
    dag_run_id   TEXT NOT NULL,
    position     INTEGER NOT NULL,
    dam_asset_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    planned_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_run_id, position)
);
