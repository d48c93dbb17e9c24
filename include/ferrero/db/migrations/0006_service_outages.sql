-- Outages of the DAM or Box as discovery saw them: one open row per service at most, so the critical
-- email goes out once when an outage starts and once when it ends, not every five minutes.
CREATE TABLE service_outages (
    id         BIGSERIAL PRIMARY KEY,
    service    TEXT NOT NULL,
    error      TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX service_outages_open_idx ON service_outages (service) WHERE ended_at IS NULL;
