// Package server is the detection service's HTTP API (docs/api.md): wiring over the serving
// protocol (package serving), the store, the cache and the result writer.
//
// The handlers are grouped by resource: detectors.go (create, list, get, delete),
// datasets.go (CSV uploads), detection.go (training as jobs, prediction, results), jobs.go
// (long work off the request path, bounded and cancellable), health.go (liveness,
// readiness). Around them, middleware.go bounds every request (body size and read time,
// gzip, requests and bytes in flight, API keys checked before any body is read) and records
// metrics; rows.go decodes the "data" rows of a request straight into a flat matrix;
// errors.go maps every error to a stable code and a message in the client's terms, never
// driver text; results.go is the save function of the write-behind that stores every
// answered prediction off the request path. What the service promises under abuse and
// faults is in docs/reliability.md.
package server
