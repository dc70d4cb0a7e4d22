package optimize

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Outcome is what became of items handed to a WriteBehind, as WriteBehindOptions.OnSaved is
// told.
type Outcome int

const (
	Written  Outcome = iota // saved
	Skipped                 // left out by the save function itself (their owner is gone)
	Rejected                // refused by the store for good (a permanent error), alone in their batch
	Failed                  // the store kept failing through every retry
)

func (o Outcome) String() string {
	return [...]string{"written", "skipped", "rejected", "failed"}[o]
}

// SaveFunc writes a batch. It may leave items out on purpose (their owner is gone) and says
// how many; an error means nothing of the batch was written.
type SaveFunc[T any] func(ctx context.Context, batch []T) (skipped int, err error)

// WriteBehindOptions tune a WriteBehind. The zero value gives the defaults.
type WriteBehindOptions struct {
	// MaxBatch is the most items one save takes (default 512).
	MaxBatch int
	// Linger is how long the writer waits for more items once the queue runs dry, before it
	// saves a batch smaller than MaxBatch (default 0: save what is queued at once). Under load
	// a save then carries many items instead of one.
	Linger time.Duration
	// Queue bounds the items handed over and not yet saved (default 64 * MaxBatch); Put waits
	// while it is full, so the store's pace limits the callers' rather than memory growing.
	Queue int
	// Permanent reports whether saving again cannot mend an error (the store refused the
	// items themselves). Default: no error is permanent.
	Permanent func(error) bool
	// Retries is how often a batch is saved again after a transient error (default 6; the
	// waits between tries double from 100 ms up to 2 s, about 6 s in all).
	Retries int
	// SaveTimeout bounds one save (default 30 s).
	SaveTimeout time.Duration
	// OnSaved, when set, is told what became of every item.
	OnSaved func(o Outcome, n int)
	// Logger receives the retries and the drops (default: none).
	Logger *slog.Logger
}

// WriteBehind writes items handed to it in batches, off the caller's path: Put returns once
// the item is queued, a writer goroutine saves batches of up to MaxBatch. Close saves
// everything handed over before it returns, so an item Put has accepted is written unless the
// store refuses it or keeps failing.
//
// A batch never fails as a whole for one item: the SaveFunc may skip items whose owner is
// gone; an error Permanent calls permanent splits the batch in halves until the items at
// fault stand alone and are dropped (Rejected), and the rest is written; other errors (a
// store restarting, a lock) are retried with backoff before the batch is given up (Failed).
type WriteBehind[T any] struct {
	save   SaveFunc[T]
	opts   WriteBehindOptions
	queue  chan T
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
}

// NewWriteBehind starts a WriteBehind's writer; Close stops it.
func NewWriteBehind[T any](save SaveFunc[T], opts WriteBehindOptions) *WriteBehind[T] {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.Queue <= 0 {
		opts.Queue = 64 * opts.MaxBatch
	}
	if opts.Permanent == nil {
		opts.Permanent = func(error) bool { return false }
	}
	if opts.Retries <= 0 {
		opts.Retries = 6
	}
	if opts.SaveTimeout <= 0 {
		opts.SaveTimeout = 30 * time.Second
	}
	if opts.OnSaved == nil {
		opts.OnSaved = func(Outcome, int) {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &WriteBehind[T]{save: save, opts: opts, queue: make(chan T, opts.Queue)}
	w.wg.Add(1)
	go w.run()
	return w
}

// Put hands v to the writer. It fails only when ctx ends first (the queue being full) or
// after Close (ErrClosed).
func (w *WriteBehind[T]) Put(ctx context.Context, v T) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Queued returns how many items wait in the queue, and its capacity (for health checks: a
// queue near full means the store cannot keep up).
func (w *WriteBehind[T]) Queued() (n, capacity int) { return len(w.queue), cap(w.queue) }

// Close stops accepting items and returns once every accepted one is saved (or dropped).
func (w *WriteBehind[T]) Close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.queue)
		w.mu.Unlock()
	})
	w.wg.Wait()
}

func (w *WriteBehind[T]) run() {
	defer w.wg.Done()
	batch := make([]T, 0, w.opts.MaxBatch)
	var timer *time.Timer
	for {
		v, ok := <-w.queue
		if !ok {
			return
		}
		var open bool
		batch, open = gather(w.queue, append(batch[:0], v), w.opts.MaxBatch, w.opts.Linger, &timer)
		w.write(batch)
		clear(batch)
		if !open {
			return
		}
	}
}

// write saves a batch; see WriteBehind for what happens to the items of a failing one.
func (w *WriteBehind[T]) write(batch []T) {
	err := w.saveRetrying(batch)
	switch {
	case err == nil:
	case w.opts.Permanent(err) && len(batch) > 1:
		mid := len(batch) / 2
		w.write(batch[:mid])
		w.write(batch[mid:])
	case w.opts.Permanent(err):
		w.opts.Logger.Error("the store refused an item; dropping it", "err", err)
		w.opts.OnSaved(Rejected, len(batch))
	default:
		w.opts.Logger.Error("saving failed through every retry; dropping the batch", "items", len(batch), "err", err)
		w.opts.OnSaved(Failed, len(batch))
	}
}

// saveRetrying saves batch, again after each transient error, and reports what was written.
func (w *WriteBehind[T]) saveRetrying(batch []T) error {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.SaveTimeout)
		skipped, err := w.save(ctx, batch)
		cancel()
		if err == nil {
			w.opts.OnSaved(Written, len(batch)-skipped)
			if skipped > 0 {
				w.opts.OnSaved(Skipped, skipped)
			}
			return nil
		}
		if w.opts.Permanent(err) || attempt == w.opts.Retries {
			return err
		}
		w.opts.Logger.Warn("saving failed; retrying", "items", len(batch), "attempt", attempt+1, "err", err)
		time.Sleep(min(time.Duration(100<<attempt)*time.Millisecond, 2*time.Second))
	}
}
