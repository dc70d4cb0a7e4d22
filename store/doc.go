// Package store is gonomaly's persistence: detectors with their parameters and fitted models,
// datasets, detection results, benchmark runs, metric samples and alerts, behind one Store
// interface with two back ends, embedded SQLite (store/sqlite, the default) and PostgreSQL
// (store/postgres).
//
// Open a store by URL, as database/sql opens a database by driver name; a program imports the
// back ends it wants, which register their URL schemes:
//
//	import _ "github.com/gonomaly/gonomaly/store/sqlite"
//
//	s, err := store.Open(ctx, store.DefaultURL(), store.Options{})
//
// DefaultURL is $GONOMALY_DATABASE_URL when it is set, else "sqlite:gonomaly.db", a file in the
// working directory, so `gonomaly serve` keeps its data with no configuration. Open runs the
// back end's versioned migrations (embedded SQL, recorded in a schema_migrations table,
// idempotent, safe when two processes start at once) before it returns. Options tunes the
// connection pool; its zero value gives defaults that hold under 16 concurrent clients.
//
// Store is made of one small interface per kind of record (Detectors, Datasets, Results,
// BenchmarkRuns, Metrics, Alerts), so a consumer can ask for only what it uses. The rules
// both back ends keep, checked by the conformance suite in store/storetest:
//
//   - A detector is never seen half-trained: SaveModel changes the model, threshold, width and
//     is_fitted in one statement, and changing a detector's algorithm, parameters or
//     contamination drops its model in the same statement.
//   - Batch look-ups (GetDetectors) and bulk updates (SetFitted) are one statement each, and
//     CreateResults and AddSamples write a batch in one transaction.
//   - Listings leave out the large columns (model and data bytes); GetDetector and GetDataset
//     return them.
//   - Errors name the record and wrap ErrNotFound, ErrConflict, ErrInvalid or ErrPoolTimeout
//     for callers to branch on with errors.Is. An error of the database that one of them
//     describes (a taken key, a value it refuses) carries the store's words, not the
//     database's; the rest (a lost connection) wrap the database's error.
//   - Text that a database cannot hold or holds differently (a NUL byte, bytes that are not
//     UTF-8, more than MaxNameBytes in a name) is ErrInvalid before any SQL runs, and an id
//     that is not a UUID in the store's form names no record: ErrNotFound, or nothing found
//     in a batch. Both back ends answer every input alike.
//   - CreateResults fails a batch whole when results name detectors that do not exist, with
//     a *MissingDetectorsError that lists them, so that the caller can write the rest.
//   - Times are UTC with microsecond precision.
//
// EncodeModel, Detector.NewModel and Detector.DecodeModel connect stored detectors to the
// detector package's models.
package store
