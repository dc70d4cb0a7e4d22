package server

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder collects the batches a sink saves.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	saved   chan struct{}
}

func (r *recorder) save(_ context.Context, b []int) error {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(b))
	r.mu.Unlock()
	r.saved <- struct{}{}
	return nil
}

func (r *recorder) got() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func newRecorded(maxBatch int, linger time.Duration) (*sink[int], *recorder) {
	r := &recorder{saved: make(chan struct{}, 100)}
	return newSink(r.save, 100, maxBatch, linger, slog.New(slog.NewTextHandler(io.Discard, nil)), nil), r
}

func TestSinkFullBatchDoesNotWaitForLinger(t *testing.T) {
	s, r := newRecorded(3, time.Hour)
	defer s.close()
	for i := range 3 {
		if err := s.put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-r.saved:
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch was not saved within 10 s; the sink waited for its linger")
	}
	if got := r.got(); len(got) != 1 || !slices.Equal(got[0], []int{0, 1, 2}) {
		t.Fatalf("batches %v, want [[0 1 2]]", got)
	}
}

func TestSinkCloseFlushesLingeringBatch(t *testing.T) {
	s, r := newRecorded(100, time.Hour)
	for i := range 5 {
		if err := s.put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	var all []int
	for _, b := range r.got() {
		all = append(all, b...)
	}
	if !slices.Equal(all, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("saved %v before close returned, want [0 1 2 3 4]", all)
	}
	if err := s.put(context.Background(), 9); err != errSinkClosed {
		t.Fatalf("put after close: %v, want %v", err, errSinkClosed)
	}
}

func TestSinkLoneItemSavedAfterLinger(t *testing.T) {
	for _, linger := range []time.Duration{0, 20 * time.Millisecond} {
		s, r := newRecorded(100, linger)
		start := time.Now()
		if err := s.put(context.Background(), 7); err != nil {
			t.Fatal(err)
		}
		select {
		case <-r.saved:
		case <-time.After(10 * time.Second):
			t.Fatalf("linger %v: a lone item was not saved within 10 s", linger)
		}
		if took := time.Since(start); took < linger {
			t.Errorf("linger %v: saved after %v, before the linger ended", linger, took)
		}
		s.close()
		if got := r.got(); len(got) != 1 || !slices.Equal(got[0], []int{7}) {
			t.Fatalf("linger %v: batches %v, want [[7]]", linger, got)
		}
	}
}
