// Package dataset holds tabular data for the detectors: a dense row-major Matrix of float64, a
// CSV reader that streams a file in chunks of rows (so memory is bounded by the chunk, not the
// file) and reports bad input by row and column, and a seeded generator of labelled synthetic
// data for tests and benchmarks.
//
// A label column (0/1, 1 = anomaly) named in CSVOptions.Label is kept out of the features and
// returned separately, for evaluation only.
package dataset
