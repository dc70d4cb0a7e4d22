package optimize

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// ErrClosed is returned by Batcher.Do and WriteBehind.Put after Close.
var ErrClosed = errors.New("optimize: closed")

// BatchFunc does the work for a batch of items: it writes out[i] for items[i] (out has the
// length of items) or returns an error that every item of the batch receives.
type BatchFunc[T, R any] func(ctx context.Context, items []T, out []R) error

// BatchOptions tune a Batcher. The zero value gives the defaults.
type BatchOptions struct {
	// MaxBatch is the most items in one call (default 256).
	MaxBatch int
	// MaxWait is how long a worker that holds fewer than MaxBatch items waits for more before
	// it calls the BatchFunc. 0 (the default) waits for nothing: a worker takes whatever is
	// queued when it becomes free. Under load items queue while the workers are busy, so
	// batches grow by themselves without adding latency when the load is light. With no wait,
	// a caller that finds nothing queued and a worker's turn free runs its item as a batch of
	// one itself, on its own goroutine, rather than hand it to a worker and wait to be woken:
	// at light load two goroutine hand-offs (and their wake-ups) per item are saved.
	MaxWait time.Duration
	// Workers is how many batches may run at once (default GOMAXPROCS), by workers and by
	// callers running their own item alike.
	Workers int
	// Queue bounds the items waiting for a worker (default 64 * MaxBatch); Do blocks (until
	// its context ends) while the queue is full.
	Queue int
}

// Batcher coalesces concurrent Do calls into calls of a BatchFunc. Results are those of the
// BatchFunc for each item: batching changes how calls are grouped, never what an item gets,
// as long as the BatchFunc treats items independently.
type Batcher[T, R any] struct {
	fn    BatchFunc[T, R]
	opts  BatchOptions
	queue chan *call[T, R]
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	pool  sync.Pool
	// turns holds a token per batch running, by a worker or by a caller (at most Workers).
	turns chan struct{}

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
}

type call[T, R any] struct {
	ctx  context.Context
	item T
	done chan result[R] // buffered 1: a worker never blocks on a caller that gave up
	// one and oneOut are the batch of a caller that runs its own item.
	one    [1]T
	oneOut [1]R
}

type result[R any] struct {
	val R
	err error
}

// NewBatcher starts a Batcher's workers; Close stops them.
func NewBatcher[T, R any](fn BatchFunc[T, R], opts BatchOptions) *Batcher[T, R] {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Queue <= 0 {
		opts.Queue = 64 * opts.MaxBatch
	}
	b := &Batcher[T, R]{fn: fn, opts: opts, queue: make(chan *call[T, R], opts.Queue), stop: make(chan struct{}),
		turns: make(chan struct{}, opts.Workers)}
	b.pool.New = func() any { return &call[T, R]{done: make(chan result[R], 1)} }
	b.wg.Add(opts.Workers)
	for range opts.Workers {
		go b.work()
	}
	return b
}

// Do submits item and waits for its result. It returns ctx's error if ctx ends first (the item
// may still be computed, its result is then dropped) and ErrClosed after Close.
func (b *Batcher[T, R]) Do(ctx context.Context, item T) (R, error) {
	var zero R
	c := b.pool.Get().(*call[T, R])
	c.ctx, c.item = ctx, item
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return zero, ErrClosed
	}
	if b.opts.MaxWait <= 0 && len(b.queue) == 0 {
		select {
		case b.turns <- struct{}{}:
			// Nothing queued and a turn free: run the item here. The read lock, held until
			// it is done, makes Close wait for it as for a worker's batch.
			v, err := b.runOwn(c)
			<-b.turns
			b.mu.RUnlock()
			return v, err
		default:
		}
	}
	select {
	case b.queue <- c:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return zero, ctx.Err()
	}
	select {
	case r := <-c.done:
		c.ctx, c.item = nil, *new(T)
		b.pool.Put(c) // only a call whose result was received goes back: its channel is empty
		return r.val, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops accepting items, lets the workers finish every queued item, and waits for them.
func (b *Batcher[T, R]) Close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.queue)
		b.mu.Unlock()
	})
	b.wg.Wait()
}

func (b *Batcher[T, R]) work() {
	defer b.wg.Done()
	calls := make([]*call[T, R], 0, b.opts.MaxBatch)
	items := make([]T, 0, b.opts.MaxBatch)
	out := make([]R, b.opts.MaxBatch)
	var timer *time.Timer
	for {
		c, ok := <-b.queue
		if !ok {
			return
		}
		var open bool
		calls, open = gather(b.queue, append(calls[:0], c), b.opts.MaxBatch, b.opts.MaxWait, &timer)
		b.run(calls, items, out)
		clear(calls)
		if !open {
			return
		}
	}
}

// run calls the BatchFunc on the calls whose callers still wait. The items come from different
// callers, so the batch runs under none of their cancellations: it gets the first caller's
// context values without its deadline (a caller that gives up stops waiting, not the batch).
func (b *Batcher[T, R]) run(calls []*call[T, R], items []T, out []R) {
	live := calls[:0]
	for _, c := range calls {
		if c.ctx.Err() != nil {
			c.done <- result[R]{err: c.ctx.Err()}
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	items = items[:0]
	for _, c := range live {
		items = append(items, c.item)
	}
	o := out[:len(live)]
	clear(o)
	b.turns <- struct{}{}
	err := b.safeCall(context.WithoutCancel(live[0].ctx), items, o)
	<-b.turns
	for i, c := range live {
		if err != nil {
			c.done <- result[R]{err: err}
		} else {
			c.done <- result[R]{val: o[i]}
		}
	}
	clear(items)
}

// runOwn runs c's item as a batch of one on the caller's goroutine (Do's fast path; the caller
// holds a turn), under no cancellation, as run does, and puts c back in the pool.
func (b *Batcher[T, R]) runOwn(c *call[T, R]) (R, error) {
	var (
		zero  R
		zeroT T
	)
	ctx := c.ctx
	if err := ctx.Err(); err != nil {
		c.ctx, c.item = nil, zeroT
		b.pool.Put(c)
		return zero, err
	}
	c.one[0], c.oneOut[0] = c.item, zero
	err := b.safeCall(context.WithoutCancel(ctx), c.one[:], c.oneOut[:])
	v := c.oneOut[0]
	c.ctx, c.item, c.one[0], c.oneOut[0] = nil, zeroT, zeroT, zero
	b.pool.Put(c)
	if err != nil {
		return zero, err
	}
	return v, nil
}

// safeCall turns a panic of the BatchFunc into an error for the batch's callers rather than a
// crash of the process.
func (b *Batcher[T, R]) safeCall(ctx context.Context, items []T, out []R) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("optimize: batch function panicked: %v", p)
		}
	}()
	return b.fn(ctx, items, out)
}
