// Package dataset holds tabular data for the detectors: a dense row-major Matrix of float64
// (Validate is the one shape and finiteness check), Sources that stream a table in reused
// chunks of rows so memory is bounded by the chunk, not the file (CSVReader for CSV and gzip
// CSV, ParquetReader for Parquet's float and integer columns; Open picks one for a file name,
// "-" being standard input), ScoreWriters for per-row scores (CSV score,is_anomaly, or
// Parquet), and a seeded generator of labelled synthetic data for tests and benchmarks. Bad
// input is a *ParseError naming the row (and Parquet row group) and the column.
//
// A label column (0/1, 1 = anomaly) named in Options.Label is kept out of the features and
// returned separately (Source.Labels), for evaluation only.
package dataset
