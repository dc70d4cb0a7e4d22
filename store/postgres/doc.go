// Package postgres is the store back end on PostgreSQL, through a pgx/v5 connection pool
// (pgxpool), for deployments that run several gonomaly processes on one database.
//
// Importing the package registers the URL schemes "postgres://" and "postgresql://" with
// store.Open. Any PostgreSQL setting may ride on the URL as a query parameter; search_path
// selects the schema the store creates its tables in, which is how tests isolate themselves.
// Migrations take a transaction-scoped advisory lock keyed by that schema, so processes that
// start together migrate one after the other. The migration also sets the tuning guide's
// per-table autovacuum thresholds.
package postgres
