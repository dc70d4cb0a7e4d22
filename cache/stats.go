package cache

import (
	"sync/atomic"
	"time"
)

// Stats are the cache's counters since New, for export as metrics. Every lookup (Get or
// GetOrLoad) counts one L1 hit or one L1 miss; an L1 miss then counts at most one of L2 hit,
// L2 miss or L2 skip, and one miss if no level had the value; a GetOrLoad that waited for
// another call's load counts as Shared instead.
type Stats struct {
	L1Hits, L1Misses uint64
	L2Hits, L2Misses uint64
	// L2Skipped counts lookups that did not ask Redis because it was unreachable.
	L2Skipped uint64
	// L2Errors counts failed Redis operations of any kind, and values in Redis that did not
	// decode.
	L2Errors uint64
	// Misses counts lookups that found the value at no level.
	Misses uint64
	// Loads counts loader calls, LoadErrors those that failed.
	Loads, LoadErrors uint64
	// Shared counts GetOrLoad calls answered by another call's load.
	Shared uint64
	// Sets, Deletes and Invalidations count calls of Set, Delete and InvalidateTag or
	// InvalidateAll.
	Sets, Deletes, Invalidations uint64

	// L1Entries is about how many entries L1 holds; L1Bytes what they weigh when L1 is
	// bounded by bytes (0 otherwise).
	L1Entries int
	L1Bytes   uint64
}

type counters struct {
	l1Hits, l1Misses, l2Hits, l2Misses, l2Skipped, l2Errors atomic.Uint64
	misses, loads, loadErrors, shared                       atomic.Uint64
	sets, deletes, invalidations                            atomic.Uint64
}

// Stats returns the counters. It costs a few atomic loads.
func (c *Cache) Stats() Stats {
	s := Stats{
		L1Hits:        c.st.l1Hits.Load(),
		L1Misses:      c.st.l1Misses.Load(),
		L2Hits:        c.st.l2Hits.Load(),
		L2Misses:      c.st.l2Misses.Load(),
		L2Skipped:     c.st.l2Skipped.Load(),
		L2Errors:      c.st.l2Errors.Load(),
		Misses:        c.st.misses.Load(),
		Loads:         c.st.loads.Load(),
		LoadErrors:    c.st.loadErrors.Load(),
		Shared:        c.st.shared.Load(),
		Sets:          c.st.sets.Load(),
		Deletes:       c.st.deletes.Load(),
		Invalidations: c.st.invalidations.Load(),
		L1Entries:     c.l1.EstimatedSize(),
	}
	if c.l1.IsWeighted() {
		s.L1Bytes = c.l1.WeightedSize()
	}
	return s
}

// Status is the state Health reports.
type Status string

// The states of a Cache.
const (
	// StatusOK: every configured level works (an L1-only cache is always OK).
	StatusOK Status = "ok"
	// StatusDegraded: Redis is unreachable; the cache serves from L1 and loaders and tries to
	// reconnect.
	StatusDegraded Status = "degraded"
)

// Health is the cache's state for a readiness check.
type Health struct {
	Status Status
	// L2 reports whether a Redis L2 is configured.
	L2 bool
	// Err is why the cache is degraded: the last Redis error seen (nil when OK).
	Err error
	// Since is when Status last changed (New, for a cache that never changed).
	Since time.Time
}

// Health reports whether Redis is in use and, if not, why and since when.
func (c *Cache) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := Health{Status: StatusOK, L2: c.rdb != nil, Since: c.since}
	if c.rdb != nil && !c.up.Load() {
		h.Status, h.Err = StatusDegraded, c.downErr
	}
	return h
}
