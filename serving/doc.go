// Package serving is the model-serving protocol that the HTTP service and the workers share:
// which version of a detector is current, where its model comes from, and how a new version
// reaches every instance.
//
// A detector's current version and whether it is fitted live in the cache under its metadata
// key, its model bytes under a key per version; every entry of a detector carries the
// detector's tag. Live reads the metadata (the store on a miss), then the model of that
// version from memory, the cache or the store, and decodes it once however many callers ask
// at the same time. If the detector changed between the two reads, the stale entries are
// invalidated and the read starts again. Fit trains, saves the model only if the detector is
// still at the version training started from (the store's IfVersion), deletes the old
// version's cached copies, invalidates the tag (on every instance sharing Redis) and writes the
// new version through, so the others read it from Redis rather than the store. A Live model
// carries a micro-batcher that coalesces concurrent single-row predictions.
package serving
