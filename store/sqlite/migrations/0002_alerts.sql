-- gonomaly schema, version 2 (SQLite): what the monitor's alert manager knows of an alert.
-- group_key groups the alerts of one rule about one subject ("latency/POST /predict"); the
-- alerts of version 1 get '' and keep their message as their description. actions is a JSON
-- array of text, labels canonical JSON as metric_samples'.

ALTER TABLE alerts ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN rule      TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN title     TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN actions   TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN labels    TEXT NOT NULL DEFAULT '{}';

-- A key's history, and the history by severity over time (idx_alerts_active covers only the
-- active ones).
CREATE INDEX idx_alerts_key      ON alerts (group_key, created_at);
CREATE INDEX idx_alerts_severity ON alerts (severity, created_at);
