// Package storetest is the conformance suite every store back end runs: the behaviour callers
// of store.Store rely on, checked the same way for SQLite and PostgreSQL (as testing/slogtest
// does for slog handlers). A back end's test calls Run with a function that makes a fresh,
// empty database; Benchmark measures the hot operations the same way on every back end.
package storetest
