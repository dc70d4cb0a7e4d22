-- gonomaly schema, version 1 (PostgreSQL). Indexes as the seed's performance-tuning guide gives
-- them (its database section), plus those the benchmark, metric and alert queries need. The
-- guide builds them CONCURRENTLY on live tables; here the tables are new and empty, and the
-- whole migration runs in one transaction, where CONCURRENTLY is not allowed.

CREATE TABLE detectors (
    id             text             PRIMARY KEY,
    name           text             NOT NULL,
    algorithm_name text             NOT NULL,
    parameters     json             NOT NULL DEFAULT '{}', -- json, not jsonb: kept byte for byte
    contamination  double precision NOT NULL,
    is_fitted      boolean          NOT NULL DEFAULT false,
    threshold      double precision NOT NULL DEFAULT 0,
    n_features     integer          NOT NULL DEFAULT 0,
    training_time  double precision NOT NULL DEFAULT 0, -- seconds
    version        bigint           NOT NULL DEFAULT 1,
    created_at     timestamptz      NOT NULL,
    updated_at     timestamptz      NOT NULL,
    model          bytea,
    -- A detector is never fitted without its model.
    CONSTRAINT detectors_fitted_has_model CHECK (NOT is_fitted OR model IS NOT NULL)
);
CREATE INDEX idx_detectors_algorithm   ON detectors (algorithm_name);
CREATE INDEX idx_detectors_fitted      ON detectors (is_fitted);
CREATE INDEX idx_detectors_created     ON detectors (created_at);
CREATE INDEX idx_detectors_algo_fitted ON detectors (algorithm_name, is_fitted);

CREATE TABLE datasets (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    n_samples   integer     NOT NULL,
    n_features  integer     NOT NULL,
    file_format text        NOT NULL,
    path        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    data        bytea
);
CREATE INDEX idx_datasets_size        ON datasets (n_samples);
CREATE INDEX idx_datasets_format      ON datasets (file_format);
CREATE INDEX idx_datasets_format_size ON datasets (file_format, n_samples);
CREATE INDEX idx_datasets_created     ON datasets (created_at);

CREATE TABLE detection_results (
    id          text             PRIMARY KEY,
    detector_id text             NOT NULL REFERENCES detectors (id) ON DELETE CASCADE,
    n_samples   integer          NOT NULL,
    n_anomalies integer          NOT NULL,
    threshold   double precision NOT NULL,
    created_at  timestamptz      NOT NULL,
    scores      bytea -- little-endian float64 per sample
);
CREATE INDEX idx_detection_results_timestamp ON detection_results (created_at);
CREATE INDEX idx_detection_results_detector  ON detection_results (detector_id);

CREATE TABLE benchmark_runs (
    id         text        PRIMARY KEY,
    suite_id   text        NOT NULL DEFAULT '',
    kind       text        NOT NULL,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    document   json        NOT NULL -- json, not jsonb: kept byte for byte
);
CREATE INDEX idx_benchmark_runs_suite   ON benchmark_runs (suite_id, created_at);
CREATE INDEX idx_benchmark_runs_kind    ON benchmark_runs (kind, created_at);
CREATE INDEX idx_benchmark_runs_created ON benchmark_runs (created_at);

CREATE TABLE metric_samples (
    time   timestamptz      NOT NULL,
    name   text             NOT NULL,
    value  double precision NOT NULL,
    labels text             NOT NULL DEFAULT '{}' -- canonical JSON: sorted keys
);
CREATE INDEX idx_metric_samples_name_time ON metric_samples (name, time);
CREATE INDEX idx_metric_samples_time      ON metric_samples (time);

CREATE TABLE alerts (
    id          text             PRIMARY KEY,
    created_at  timestamptz      NOT NULL,
    severity    text             NOT NULL,
    metric      text             NOT NULL,
    message     text             NOT NULL DEFAULT '',
    value       double precision NOT NULL,
    threshold   double precision NOT NULL,
    resolved_at timestamptz -- NULL while active
);
CREATE INDEX idx_alerts_created ON alerts (created_at);
CREATE INDEX idx_alerts_metric  ON alerts (metric, created_at);
CREATE INDEX idx_alerts_active  ON alerts (severity, created_at) WHERE resolved_at IS NULL;

-- Autovacuum per table, from the guide: vacuum after 10 % of detectors' or datasets' rows
-- changed (the default is 20 %), after 5 % of detection_results' (written on every predict).
-- metric_samples is the other high-churn table (written every sampling period, trimmed by
-- retention), so it gets the detection_results setting.
ALTER TABLE detectors         SET (autovacuum_vacuum_scale_factor = 0.1);
ALTER TABLE datasets          SET (autovacuum_vacuum_scale_factor = 0.1);
ALTER TABLE detection_results SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE metric_samples    SET (autovacuum_vacuum_scale_factor = 0.05);
