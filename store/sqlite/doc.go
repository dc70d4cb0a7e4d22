// Package sqlite is the store back end on an embedded SQLite file, gonomaly's default: pure
// Go (modernc.org/sqlite, no cgo), one file, nothing to install or run.
//
// Importing the package registers the URL schemes "sqlite:", "sqlite3:", "file:" and bare
// paths with store.Open. The file is opened in WAL mode, where readers never block the writer
// nor each other, with a single writer connection (SQLite allows one writer at a time, and one
// connection serializes writes without SQLITE_BUSY retries inside the process) and a pool of
// read-only connections sized by store.Options. Write transactions begin IMMEDIATE and the
// busy timeout covers other processes holding the lock, so two processes may share a file.
package sqlite
