-- gonomaly schema, version 1 (SQLite). Times are INTEGER microseconds since the Unix epoch,
-- UTC; booleans are 0/1. Indexes as the seed's performance-tuning guide gives them (its
-- database section), plus those the benchmark, metric and alert queries need.

CREATE TABLE detectors (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    algorithm_name TEXT    NOT NULL,
    parameters     TEXT    NOT NULL DEFAULT '{}',
    contamination  REAL    NOT NULL,
    is_fitted      INTEGER NOT NULL DEFAULT 0 CHECK (is_fitted IN (0, 1)),
    threshold      REAL    NOT NULL DEFAULT 0,
    n_features     INTEGER NOT NULL DEFAULT 0,
    training_time  REAL    NOT NULL DEFAULT 0, -- seconds
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    -- Last, so reading the other columns never touches the model's overflow pages.
    model          BLOB,
    -- A detector is never fitted without its model.
    CHECK (is_fitted = 0 OR model IS NOT NULL)
) STRICT;
CREATE INDEX idx_detectors_algorithm   ON detectors (algorithm_name);
CREATE INDEX idx_detectors_fitted      ON detectors (is_fitted);
CREATE INDEX idx_detectors_created     ON detectors (created_at);
CREATE INDEX idx_detectors_algo_fitted ON detectors (algorithm_name, is_fitted);

CREATE TABLE datasets (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    n_samples   INTEGER NOT NULL,
    n_features  INTEGER NOT NULL,
    file_format TEXT    NOT NULL,
    path        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    data        BLOB
) STRICT;
CREATE INDEX idx_datasets_size        ON datasets (n_samples);
CREATE INDEX idx_datasets_format      ON datasets (file_format);
CREATE INDEX idx_datasets_format_size ON datasets (file_format, n_samples);
CREATE INDEX idx_datasets_created     ON datasets (created_at);

CREATE TABLE detection_results (
    id          TEXT    PRIMARY KEY,
    detector_id TEXT    NOT NULL REFERENCES detectors (id) ON DELETE CASCADE,
    n_samples   INTEGER NOT NULL,
    n_anomalies INTEGER NOT NULL,
    threshold   REAL    NOT NULL,
    created_at  INTEGER NOT NULL,
    scores      BLOB -- little-endian float64 per sample
) STRICT;
CREATE INDEX idx_detection_results_timestamp ON detection_results (created_at);
CREATE INDEX idx_detection_results_detector  ON detection_results (detector_id);

CREATE TABLE benchmark_runs (
    id         TEXT    PRIMARY KEY,
    suite_id   TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    document   TEXT    NOT NULL
) STRICT;
CREATE INDEX idx_benchmark_runs_suite   ON benchmark_runs (suite_id, created_at);
CREATE INDEX idx_benchmark_runs_kind    ON benchmark_runs (kind, created_at);
CREATE INDEX idx_benchmark_runs_created ON benchmark_runs (created_at);

CREATE TABLE metric_samples (
    time   INTEGER NOT NULL,
    name   TEXT    NOT NULL,
    value  REAL    NOT NULL,
    labels TEXT    NOT NULL DEFAULT '{}' -- canonical JSON: sorted keys
) STRICT;
CREATE INDEX idx_metric_samples_name_time ON metric_samples (name, time);
CREATE INDEX idx_metric_samples_time      ON metric_samples (time);

CREATE TABLE alerts (
    id          TEXT    PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    severity    TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    message     TEXT    NOT NULL DEFAULT '',
    value       REAL    NOT NULL,
    threshold   REAL    NOT NULL,
    resolved_at INTEGER -- NULL while active
) STRICT;
CREATE INDEX idx_alerts_created ON alerts (created_at);
CREATE INDEX idx_alerts_metric  ON alerts (metric, created_at);
CREATE INDEX idx_alerts_active  ON alerts (severity, created_at) WHERE resolved_at IS NULL;
