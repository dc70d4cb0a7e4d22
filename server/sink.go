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
type sink[T any] struct {
	save     func(ctx context.Context, batch []T) error
	queue    chan T
	maxBatch int
	linger   time.Duration
	log      *slog.Logger
	onSaved  func(n int, err error)
	wg       sync.WaitGroup
	once     sync.Once
	mu       sync.RWMutex
	closed   bool
}

func newSink[T any](save func(context.Context, []T) error, queue, maxBatch int, linger time.Duration, log *slog.Logger, onSaved func(int, error)) *sink[T] {
	s := &sink[T]{save: save, queue: make(chan T, queue), maxBatch: maxBatch, linger: linger, log: log, onSaved: onSaved}
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

type sinkError string

func (e sinkError) Error() string { return string(e) }

const errSinkClosed = sinkError("server: result writer closed (shutting down)")

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

// write saves a batch, retrying a failed save a few times (a store restarting, a lock).
func (s *sink[T]) write(batch []T) {
	var err error
	for attempt := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.save(ctx, batch)
		cancel()
		if err == nil {
			break
		}
		s.log.Warn("saving results failed; retrying", "rows", len(batch), "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
	}
	if err != nil {
		s.log.Error("saving results failed; dropping them", "rows", len(batch), "err", err)
	}
	if s.onSaved != nil {
		s.onSaved(len(batch), err)
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
