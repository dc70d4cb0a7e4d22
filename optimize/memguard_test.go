package optimize

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// fakeMemory is a probe whose readings the test sets (the process's real memory moves with
// everything else running).
type fakeMemory struct {
	heap, rss atomic.Int64
	reads     atomic.Int64
}

func (f *fakeMemory) probe() Reading {
	f.reads.Add(1)
	return Reading{Heap: f.heap.Load(), RSS: f.rss.Load()}
}

func TestMemoryGuardOver(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      GuardOptions
		heap, rss int64
		over      bool
	}{
		{"heap under", GuardOptions{HeapBytes: 100}, 100, 1 << 40, false},
		{"heap over", GuardOptions{HeapBytes: 100}, 101, 0, true},
		{"rss over", GuardOptions{RSSBytes: 100}, 1 << 40, 101, true},
		{"rss under", GuardOptions{RSSBytes: 100}, 1 << 40, 99, false},
		{"both, one over", GuardOptions{HeapBytes: 100, RSSBytes: 100}, 50, 150, true},
		{"unreadable figure", GuardOptions{HeapBytes: 100, RSSBytes: 100}, 0, 0, false},
	} {
		f := &fakeMemory{}
		f.heap.Store(tc.heap)
		f.rss.Store(tc.rss)
		tc.opts.Probe = f.probe
		g, err := NewMemoryGuard(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Over(); got != tc.over {
			t.Errorf("%s: Over() = %v, want %v", tc.name, got, tc.over)
		}
		g.Close()
	}
}

func TestMemoryGuardCachesTheReading(t *testing.T) {
	f := &fakeMemory{}
	g, err := NewMemoryGuard(GuardOptions{HeapBytes: 100, Poll: time.Hour, Probe: f.probe})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for range 1000 {
		g.Over()
		if err := g.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.reads.Load(); n != 1 {
		t.Errorf("the probe was read %d times within one poll interval, want 1", n)
	}
}

func TestMemoryGuardWaitBlocksWhileOver(t *testing.T) {
	checkNoLeak(t)
	f := &fakeMemory{}
	f.rss.Store(500)
	g, err := NewMemoryGuard(GuardOptions{RSSBytes: 100, Poll: time.Millisecond, Probe: f.probe})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	done := make(chan error, 1)
	go func() { done <- g.Wait(context.Background()) }()
	// It still waits after many polls.
	deadline := time.Now().Add(10 * time.Second)
	for f.reads.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait returned (%v) while memory was over the limit", err)
	default:
	}
	f.rss.Store(50)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return once memory was under the limit")
	}
	s := g.Stats()
	if s.Waits != 1 || s.Waited <= 0 || s.Crossings != 1 || s.Over || s.Last.RSS != 50 {
		t.Errorf("stats %+v: want one wait of some time, one crossing, not over, RSS 50", s)
	}
}

func TestMemoryGuardWaitEndsWithContext(t *testing.T) {
	checkNoLeak(t)
	f := &fakeMemory{}
	f.heap.Store(500)
	g, err := NewMemoryGuard(GuardOptions{HeapBytes: 100, Poll: time.Millisecond, Probe: f.probe})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if !g.Over() {
		t.Error("not over")
	}
}

func TestMemoryGuardFreesOnceWhenCrossing(t *testing.T) {
	f := &fakeMemory{}
	g, err := NewMemoryGuard(GuardOptions{HeapBytes: 100, Poll: time.Nanosecond, FreeOnCross: true, Probe: f.probe})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f.heap.Store(500)
	for range 5 {
		g.Over()
	}
	f.heap.Store(10)
	g.Over()
	f.heap.Store(500)
	g.Over()
	if s := g.Stats(); s.Crossings != 2 || s.Frees != 2 {
		t.Errorf("stats %+v: want two crossings, each with one free", s)
	}
}

func TestMemoryGuardRealProbe(t *testing.T) {
	// Limits of 1 byte: the process is over both; of 1 PiB: under.
	for _, tc := range []struct {
		limit int64
		over  bool
	}{{1, true}, {1 << 50, false}} {
		g, err := NewMemoryGuard(GuardOptions{HeapBytes: tc.limit, RSSBytes: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Over(); got != tc.over {
			t.Errorf("limit %d: Over() = %v, want %v", tc.limit, got, tc.over)
		}
		if s := g.Stats(); s.Last.Heap <= 0 || s.Last.RSS <= 0 {
			t.Errorf("limit %d: reading %+v, want both figures", tc.limit, s.Last)
		}
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestMemoryGuardOptionsErrors(t *testing.T) {
	for _, o := range []GuardOptions{{}, {HeapBytes: -1}, {RSSBytes: -1}, {HeapBytes: 1, Poll: -1}} {
		if _, err := NewMemoryGuard(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
