// Package cache is a two-level cache of byte values: L1 in the process (otter, bounded by
// bytes or entries, with a TTL per entry) in front of an optional L2 in Redis shared by every
// instance of the service, as in the multi-level cache of the tuning guide.
//
// Reads go through the levels: GetOrLoad looks in L1, then in L2 (a hit is promoted to L1),
// then calls the loader, and concurrent misses of one key share one load. Writes go through
// both: Set writes L1 and L2 and makes the other instances drop their L1 copy. An entry lives
// its TTL in Redis and at most Options.L1TTL in L1. Values longer than Options.CompressAbove are
// stored S2-compressed in Redis behind a one-byte header; smaller ones are stored raw; L1
// holds them uncompressed.
//
// # Invalidation by tag
//
// An entry may belong to tags, such as "detector:42" for every result computed with that
// detector; InvalidateTag("detector:42") drops them all, on every instance, when the detector
// is retrained or deleted. Reads and writes must name an entry's tags, in the same order.
//
// Each tag has a generation in Redis, stored under the tag's key, and the Redis key of an
// entry contains the generations of its tags: invalidating a tag writes the next generation,
// which makes all its entries unreachable in one command (they expire by their TTL), with no
// scan of keys and no race with a write in flight: a load that started before the
// invalidation writes under the old generation, where nobody will read it. Each instance keeps
// the generations it has seen and stamps its L1 entries with a local epoch per tag; the
// invalidation is announced on a Redis pub/sub channel, and peers that receive it bump the
// tag's epoch, which drops their L1 entries of the tag at once.
//
// A generation is a sequence number, which Redis increments atomically with the announcement
// so that instances only ever move a tag forward whatever order messages arrive in, and a
// random part, so that a generation key lost with Redis's data (a restart, an eviction) and
// created again never matches an earlier one. Messages sent while a peer is not subscribed are
// lost, so after each (re)subscription a peer reads every generation it knows again, and after
// a broken subscription it also empties its L1, since it cannot know which keys others Set or
// Deleted meanwhile.
//
// # Redis outages
//
// When a Redis operation fails the cache stops using Redis: it keeps answering from L1 and the
// loaders, never returns an error because of Redis, logs the change once (and once again when
// Redis is back), and Health reports it degraded with the error and since when. A goroutine
// owned by the Cache pings Redis with a doubling backoff (Options.ProbeMin to ProbeMax); no
// request waits on a dead Redis. Before using Redis again it brings Redis up to date:
// invalidations and writes made here during the outage reach Redis and the peers, and every
// tag whose generation in Redis is not the one this instance knows gets a fresh generation.
// This is conservative: it cannot tell a peer's invalidation it missed from a Redis restored
// from an old snapshot, whose old generations would expose stale entries, so it invalidates
// in both cases. Close stops the goroutines.
package cache
