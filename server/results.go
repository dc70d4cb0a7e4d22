package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// saveResults is the result writer's save: it writes a batch of results, leaving out those of
// detectors deleted while their predictions were in flight (it reports how many). A detector
// deleted here is known at once; one deleted through another instance is found when the store
// refuses the batch for it, and the batch is written again without its rows.
func (s *Server) saveResults(ctx context.Context, rs []*store.Result) (int, error) {
	for attempt := 0; ; attempt++ {
		live := rs
		if !s.gone.empty() {
			live = make([]*store.Result, 0, len(rs))
			for _, r := range rs {
				if !s.gone.has(r.DetectorID) {
					live = append(live, r)
				}
			}
		}
		dropped := len(rs) - len(live)
		if len(live) == 0 {
			return dropped, nil
		}
		err := s.store.CreateResults(ctx, live...)
		if err == nil || !errors.Is(err, store.ErrNotFound) || attempt == 2 {
			return dropped, err
		}
		var missing *store.MissingDetectorsError
		if errors.As(err, &missing) && len(missing.IDs) > 0 {
			for _, id := range missing.IDs {
				s.gone.add(id)
			}
			continue
		}
		found, lerr := s.missingDetectors(ctx, live)
		if lerr != nil || found == 0 {
			return dropped, err // the store's own error: the sink retries or splits the batch
		}
	}
}

// missingDetectors finds which detectors of rs no longer exist and remembers them as gone; it
// returns how many it found.
func (s *Server) missingDetectors(ctx context.Context, rs []*store.Result) (int, error) {
	seen := map[string]bool{}
	var ids []string
	for _, r := range rs {
		if !seen[r.DetectorID] {
			seen[r.DetectorID] = true
			ids = append(ids, r.DetectorID)
		}
	}
	ds, err := s.store.GetDetectors(ctx, ids)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		delete(seen, d.ID)
	}
	for id := range seen {
		s.gone.add(id)
	}
	return len(seen), nil
}

// permanentStoreError reports whether saving again cannot mend err: the store refused the
// records themselves (a missing detector, an invalid or conflicting row), not the moment.
func permanentStoreError(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict)
}

// goneSet remembers the detectors deleted lately (for ttl), so that results of predictions
// still in flight when their detector was deleted are dropped before they reach the store
// instead of failing a batch. It holds at most goneMax ids: past that the oldest are forgotten
// (the store's own check still catches their rows).
type goneSet struct {
	ttl time.Duration
	mu  sync.RWMutex
	ids map[string]time.Time
}

const goneMax = 100_000

func newGoneSet(ttl time.Duration) *goneSet { return &goneSet{ttl: ttl, ids: map[string]time.Time{}} }

func (g *goneSet) add(id string) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.ids) >= goneMax/2 {
		for k, t := range g.ids {
			if now.Sub(t) > g.ttl || len(g.ids) >= goneMax {
				delete(g.ids, k)
			}
		}
	}
	g.ids[id] = now
}

func (g *goneSet) has(id string) bool {
	g.mu.RLock()
	_, ok := g.ids[id]
	g.mu.RUnlock()
	return ok
}

func (g *goneSet) empty() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ids) == 0
}
