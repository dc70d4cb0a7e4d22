package optimize

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// square is a BatchFunc whose answer for an item does not depend on its batch; it records the
// largest batch it saw.
type square struct {
	calls, largest atomic.Int64
	delay          time.Duration
}

func (s *square) fn(_ context.Context, items []int, out []int) error {
	s.calls.Add(1)
	for {
		cur := s.largest.Load()
		if int64(len(items)) <= cur || s.largest.CompareAndSwap(cur, int64(len(items))) {
			break
		}
	}
	time.Sleep(s.delay)
	for i, v := range items {
		out[i] = v * v
	}
	return nil
}

func checkNoLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines outlive the test (%d before)", n, before)
		}
	})
}

func TestBatcherCoalescesAndAnswersEachItem(t *testing.T) {
	tests := []struct {
		name string
		opts BatchOptions
		// wantBatches: whether concurrent calls must have been coalesced
		wantBatches bool
	}{
		{"no wait, busy worker", BatchOptions{Workers: 1, MaxBatch: 64}, true},
		{"bounded wait", BatchOptions{Workers: 2, MaxBatch: 32, MaxWait: time.Millisecond}, true},
		{"batch of one", BatchOptions{Workers: 2, MaxBatch: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			s := &square{delay: 200 * time.Microsecond}
			b := NewBatcher(s.fn, tt.opts)
			defer b.Close()
			const n = 2000
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := b.Do(context.Background(), i)
					if err != nil || got != i*i {
						errs <- errors.New("wrong answer")
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			calls, largest := s.calls.Load(), s.largest.Load()
			if largest > int64(max(tt.opts.MaxBatch, 1)) {
				t.Errorf("a batch of %d items passed MaxBatch %d", largest, tt.opts.MaxBatch)
			}
			if tt.wantBatches && (largest < 2 || calls >= n) {
				t.Errorf("%d calls for %d items, largest batch %d: nothing was coalesced", calls, n, largest)
			}
			if !tt.wantBatches && calls != n {
				t.Errorf("%d calls for %d items with MaxBatch 1", calls, n)
			}
		})
	}
}

func TestBatcherErrorsReachEveryCallerOfTheBatch(t *testing.T) {
	checkNoLeak(t)
	boom := errors.New("boom")
	b := NewBatcher(func(_ context.Context, items []int, _ []int) error {
		for _, v := range items {
			if v < 0 {
				return boom
			}
		}
		return nil
	}, BatchOptions{Workers: 1})
	defer b.Close()
	if _, err := b.Do(context.Background(), -1); !errors.Is(err, boom) {
		t.Errorf("Do(-1) = %v, want %v", err, boom)
	}
	if _, err := b.Do(context.Background(), 1); err != nil {
		t.Errorf("Do(1) after a failed batch = %v", err)
	}
}

func TestBatcherPanicIsAnError(t *testing.T) {
	checkNoLeak(t)
	b := NewBatcher(func(context.Context, []int, []int) error { panic("kaput") }, BatchOptions{Workers: 1})
	defer b.Close()
	_, err := b.Do(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "kaput") {
		t.Errorf("Do = %v, want the panic as an error", err)
	}
}

func TestBatcherContextAndClose(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	b := NewBatcher(func(_ context.Context, items []int, out []int) error {
		<-release
		copy(out, items)
		return nil
	}, BatchOptions{Workers: 1, MaxBatch: 1})
	// The first item occupies the only worker; the second waits in the queue and gives up.
	first := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), 1); first <- err }()
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Do(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do with an expiring context = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first Do = %v", err)
	}
	b.Close()
	if _, err := b.Do(context.Background(), 3); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
	b.Close() // a second Close is harmless
}

func TestBatcherCloseFinishesQueuedItems(t *testing.T) {
	checkNoLeak(t)
	s := &square{delay: time.Millisecond}
	b := NewBatcher(s.fn, BatchOptions{Workers: 1, MaxBatch: 4})
	var wg sync.WaitGroup
	var ok, closed, wrong atomic.Int64
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch v, err := b.Do(context.Background(), i); {
			case err == nil && v == i*i:
				ok.Add(1)
			case errors.Is(err, ErrClosed):
				closed.Add(1)
			default:
				wrong.Add(1)
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	b.Close()
	wg.Wait()
	// Every call that got into the queue before Close was answered; the rest saw ErrClosed.
	if ok.Load() == 0 || wrong.Load() != 0 || ok.Load()+closed.Load() != 50 {
		t.Errorf("answered %d, refused %d, wrong %d of 50", ok.Load(), closed.Load(), wrong.Load())
	}
}

func BenchmarkBatcherDo(b *testing.B) {
	bt := NewBatcher(func(_ context.Context, items []int, out []int) error {
		for i, v := range items {
			out[i] = v + 1
		}
		return nil
	}, BatchOptions{})
	defer bt.Close()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := bt.Do(context.Background(), 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBatcherWorkersBoundEveryBatch checks that batches run by callers themselves (nothing
// queued, a turn free) and by workers together never number more than Workers at once, and
// that a lone caller runs its item at once as a batch of one.
func TestBatcherWorkersBoundEveryBatch(t *testing.T) {
	checkNoLeak(t)
	var running, most, calls atomic.Int64
	fn := func(_ context.Context, items []int, out []int) error {
		calls.Add(1)
		n := running.Add(1)
		for {
			cur := most.Load()
			if n <= cur || most.CompareAndSwap(cur, n) {
				break
			}
		}
		time.Sleep(50 * time.Microsecond)
		for i, v := range items {
			out[i] = v * v
		}
		running.Add(-1)
		return nil
	}
	b := NewBatcher(fn, BatchOptions{Workers: 2, MaxBatch: 16})
	defer b.Close()
	for i := range 20 { // one caller at a time: each item is its own batch
		if v, err := b.Do(context.Background(), i); err != nil || v != i*i {
			t.Fatalf("Do(%d) = %d, %v", i, v, err)
		}
	}
	if calls.Load() != 20 {
		t.Errorf("%d batches for 20 items sent one at a time, want 20", calls.Load())
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for i := range 2000 {
		wg.Go(func() {
			if v, err := b.Do(context.Background(), i); err != nil || v != i*i {
				wrong.Add(1)
			}
		})
	}
	wg.Wait()
	if wrong.Load() != 0 {
		t.Errorf("%d wrong answers", wrong.Load())
	}
	if most.Load() > 2 {
		t.Errorf("%d batches ran at once with Workers 2", most.Load())
	}
}

// TestBatcherCloseWaitsForACallersOwnBatch: Close returns only after a batch a caller runs
// itself has finished, as it does for the workers' batches.
func TestBatcherCloseWaitsForACallersOwnBatch(t *testing.T) {
	checkNoLeak(t)
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	b := NewBatcher(func(_ context.Context, items []int, out []int) error {
		close(started)
		<-release
		finished.Store(true)
		return nil
	}, BatchOptions{Workers: 1})
	done := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), 1); done <- err }()
	<-started
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a batch ran")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-closed
	if !finished.Load() {
		t.Error("Close returned before the batch finished")
	}
	if err := <-done; err != nil {
		t.Errorf("Do = %v", err)
	}
}

// BenchmarkBatcherDoLight is one caller at a time, the light load of the open model at a
// rate the service holds: each item is a batch of one, run by the caller itself.
func BenchmarkBatcherDoLight(b *testing.B) {
	bt := NewBatcher(func(_ context.Context, items []int, out []int) error {
		for i, v := range items {
			out[i] = v + 1
		}
		return nil
	}, BatchOptions{})
	defer bt.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bt.Do(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
	}
}
