-- gonomaly schema, version 2 (PostgreSQL): what the monitor's alert manager knows of an
-- alert. group_key groups the alerts of one rule about one subject ("latency/POST /predict");
-- the alerts of version 1 get '' and keep their message as their description. actions is a
-- JSON array of text, labels canonical JSON as metric_samples'. Adding a column with a
-- constant default rewrites nothing (PostgreSQL 11 and later).

ALTER TABLE alerts
    ADD COLUMN group_key text NOT NULL DEFAULT '',
    ADD COLUMN rule      text NOT NULL DEFAULT '',
    ADD COLUMN title     text NOT NULL DEFAULT '',
    ADD COLUMN actions   text NOT NULL DEFAULT '[]',
    ADD COLUMN labels    text NOT NULL DEFAULT '{}';

-- A key's history, and the history by severity over time (idx_alerts_active covers only the
-- active ones). The table is small (alerts are rare by design), so building these inside the
-- migration's transaction, without CONCURRENTLY, holds its lock only briefly.
CREATE INDEX idx_alerts_key      ON alerts (group_key, created_at);
CREATE INDEX idx_alerts_severity ON alerts (severity, created_at);
