package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// sink writes accepted items to the store in batches, off the request path: a request hands
// its result over (waiting while the bounded queue is full, so the store's pace limits the
// service's rather than memory growing) and the writer saves up to maxBatch at a time. After
// the first item of a batch it lingers for more (up to linger, or until maxBatch have come):
// under load a commit then carries many rows instead of one, which is most of the cost of an
// insert on SQLite. close writes everything handed over before it returns: an answered
// request's result is never lost to a graceful shutdown.
//
// A batch never fails as a whole for one row. save may drop rows whose owner is gone (it
// reports how many); an error that retrying cannot mend (permanent) splits the batch in
// halves until the rows at fault stand alone and are dropped, and the rest is written; other
// errors (a store restarting, a lock) are retried with backoff before the batch is given up.
type sink[T any] struct {
	save      func(ctx context.Context, batch []T) (dropped int, err error)
	permanent func(error) bool
	queue     chan T
	maxBatch  int
	linger    time.Duration
	log       *slog.Logger
	onSaved   func(outcome string, n int)
	wg        sync.WaitGroup
	once      sync.Once
	mu        sync.RWMutex
	closed    bool
}

// Outcomes of the items handed to a sink, as onSaved is told them.
const (
	sinkOK       = "ok"       // written
	sinkDeleted  = "deleted"  // dropped by save: the row's owner is gone
	sinkRejected = "rejected" // dropped: the store refused the row itself (a permanent error)
	sinkError    = "error"    // dropped: the store kept failing through every retry
)

// sinkRetries is how often a batch is saved again after a transient error; the waits between
// tries double from 100 ms up to 2 s, about 6 s in all.
const sinkRetries = 6

func newSink[T any](save func(context.Context, []T) (int, error), permanent func(error) bool, queue, maxBatch int, linger time.Duration, log *slog.Logger, onSaved func(string, int)) *sink[T] {
	if permanent == nil {
		permanent = func(error) bool { return false }
	}
	if onSaved == nil {
		onSaved = func(string, int) {}
	}
	s := &sink[T]{save: save, permanent: permanent, queue: make(chan T, queue), maxBatch: maxBatch, linger: linger, log: log, onSaved: onSaved}
	s.wg.Add(1)
	go s.run()
	return s
}

// put hands v to the writer. It fails only when ctx ends first or the sink is closed.
func (s *sink[T]) put(ctx context.Context, v T) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errSinkClosed
	}
	select {
	case s.queue <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type sinkClosedError string

func (e sinkClosedError) Error() string { return string(e) }

const errSinkClosed = sinkClosedError("server: result writer closed (shutting down)")

func (s *sink[T]) run() {
	defer s.wg.Done()
	batch := make([]T, 0, s.maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for v := range s.queue {
		batch = append(batch[:0], v)
		if s.linger > 0 {
			timer.Reset(s.linger)
		}
	fill:
		for len(batch) < s.maxBatch {
			var w T
			var ok bool
			if s.linger > 0 {
				select {
				case w, ok = <-s.queue:
				case <-timer.C:
					break fill
				}
			} else {
				select {
				case w, ok = <-s.queue:
				default:
					break fill
				}
			}
			if !ok {
				break
			}
			batch = append(batch, w)
		}
		timer.Stop()
		s.write(batch)
		clear(batch)
	}
}

// write saves a batch; see sink for what happens to the rows of a failing one.
func (s *sink[T]) write(batch []T) {
	err := s.saveRetrying(batch)
	switch {
	case err == nil:
	case s.permanent(err) && len(batch) > 1:
		mid := len(batch) / 2
		s.write(batch[:mid])
		s.write(batch[mid:])
	case s.permanent(err):
		s.log.Error("the store refused a result; dropping it", "err", err)
		s.onSaved(sinkRejected, len(batch))
	default:
		s.log.Error("saving results failed through every retry; dropping them", "rows", len(batch), "err", err)
		s.onSaved(sinkError, len(batch))
	}
}

// saveRetrying saves batch, again after each transient error, and reports what was written.
func (s *sink[T]) saveRetrying(batch []T) error {
	var err error
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var dropped int
		dropped, err = s.save(ctx, batch)
		cancel()
		if err == nil {
			s.onSaved(sinkOK, len(batch)-dropped)
			if dropped > 0 {
				s.onSaved(sinkDeleted, dropped)
			}
			return nil
		}
		if s.permanent(err) || attempt == sinkRetries {
			return err
		}
		s.log.Warn("saving results failed; retrying", "rows", len(batch), "attempt", attempt+1, "err", err)
		time.Sleep(min(time.Duration(100<<attempt)*time.Millisecond, 2*time.Second))
	}
}

// close stops accepting items and returns once every accepted one is written (or dropped after
// its retries).
func (s *sink[T]) close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
	})
	s.wg.Wait()
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
