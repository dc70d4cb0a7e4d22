package optimize

import (
	"context"
	"errors"
	"math/bits"
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

func (r *recorder) save(_ context.Context, b []int) (int, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(b))
	r.mu.Unlock()
	r.saved <- struct{}{}
	return 0, nil
}

func (r *recorder) got() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func newRecorded(maxBatch int, linger time.Duration) (*WriteBehind[int], *recorder) {
	r := &recorder{saved: make(chan struct{}, 100)}
	return NewWriteBehind(r.save, WriteBehindOptions{Queue: 100, MaxBatch: maxBatch, Linger: linger}), r
}

func TestWriteBehindFullBatchDoesNotWaitForLinger(t *testing.T) {
	s, r := newRecorded(3, time.Hour)
	defer s.Close()
	for i := range 3 {
		if err := s.Put(context.Background(), i); err != nil {
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

func TestWriteBehindCloseFlushesLingeringBatch(t *testing.T) {
	s, r := newRecorded(100, time.Hour)
	for i := range 5 {
		if err := s.Put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	var all []int
	for _, b := range r.got() {
		all = append(all, b...)
	}
	if !slices.Equal(all, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("saved %v before close returned, want [0 1 2 3 4]", all)
	}
	if err := s.Put(context.Background(), 9); err != ErrClosed {
		t.Fatalf("Put after Close: %v, want %v", err, ErrClosed)
	}
}

func TestWriteBehindLoneItemSavedAfterLinger(t *testing.T) {
	for _, linger := range []time.Duration{0, 20 * time.Millisecond} {
		s, r := newRecorded(100, linger)
		start := time.Now()
		if err := s.Put(context.Background(), 7); err != nil {
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
		s.Close()
		if got := r.got(); len(got) != 1 || !slices.Equal(got[0], []int{7}) {
			t.Fatalf("linger %v: batches %v, want [[7]]", linger, got)
		}
	}
}

// flakyStore is a save function over a set of written items: items in bad are refused with a
// permanent error (the whole batch fails, as a transaction does), and the first transient
// calls fail with a transient one.
type flakyStore struct {
	mu        sync.Mutex
	written   map[int]bool
	bad       map[int]bool
	gone      map[int]bool // dropped by save itself, as a deleted detector's results are
	transient int
	calls     int
}

var errPermanent = errors.New("permanent")

func (f *flakyStore) save(_ context.Context, b []int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.transient > 0 {
		f.transient--
		return 0, errors.New("transient")
	}
	dropped := 0
	for _, v := range b {
		if f.bad[v] {
			return 0, errPermanent
		}
		if f.gone[v] {
			dropped++
		}
	}
	for _, v := range b {
		if !f.gone[v] {
			f.written[v] = true
		}
	}
	return dropped, nil
}

type outcomes struct {
	mu sync.Mutex
	n  map[Outcome]int
}

func (o *outcomes) add(outcome Outcome, n int) {
	o.mu.Lock()
	o.n[outcome] += n
	o.mu.Unlock()
}

// TestWriteBehindOneBadRowDoesNotLoseTheBatch: a batch with rows the store refuses for good is split
// until they stand alone; every other row is written, each refused one is counted, nothing is
// retried that cannot succeed.
func TestWriteBehindOneBadRowDoesNotLoseTheBatch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		bad, gone []int
		transient int
	}{
		{"one bad in 500", 500, []int{137}, nil, 0},
		{"first and last bad", 64, []int{0, 63}, nil, 0},
		{"every tenth bad", 200, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190}, nil, 0},
		{"all bad", 16, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, nil, 0},
		{"gone rows dropped by save", 300, nil, []int{5, 6, 7, 299}, 0},
		{"transient then bad", 100, []int{50}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flakyStore{written: map[int]bool{}, bad: map[int]bool{}, gone: map[int]bool{}, transient: tc.transient}
			for _, v := range tc.bad {
				f.bad[v] = true
			}
			for _, v := range tc.gone {
				f.gone[v] = true
			}
			o := &outcomes{n: map[Outcome]int{}}
			s := NewWriteBehind(f.save, WriteBehindOptions{Permanent: func(err error) bool { return errors.Is(err, errPermanent) },
				Queue: 1000, MaxBatch: 1000, Linger: time.Hour, OnSaved: o.add})
			for i := range tc.n {
				if err := s.Put(context.Background(), i); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			want := tc.n - len(tc.bad) - len(tc.gone)
			if len(f.written) != want {
				t.Errorf("%d rows written, want %d", len(f.written), want)
			}
			for _, v := range tc.bad {
				if f.written[v] {
					t.Errorf("refused row %d written", v)
				}
			}
			if o.n[Written] != want || o.n[Rejected] != len(tc.bad) || o.n[Skipped] != len(tc.gone) || o.n[Failed] != 0 {
				t.Errorf("outcomes %v, want ok %d, rejected %d, deleted %d", o.n, want, len(tc.bad), len(tc.gone))
			}
			// Splitting costs about 2 log2(n) saves per bad row, not one save per row.
			if limit := tc.transient + 1 + len(tc.bad)*2*bits.Len(uint(tc.n)); f.calls > limit {
				t.Errorf("%d saves, want at most %d", f.calls, limit)
			}
		})
	}
}

// TestWriteBehindTransientErrorsAreRetried: a store that fails a few times and recovers loses
// nothing.
func TestWriteBehindTransientErrorsAreRetried(t *testing.T) {
	f := &flakyStore{written: map[int]bool{}, bad: map[int]bool{}, gone: map[int]bool{}, transient: 3}
	o := &outcomes{n: map[Outcome]int{}}
	s := NewWriteBehind(f.save, WriteBehindOptions{Permanent: func(err error) bool { return errors.Is(err, errPermanent) },
		Queue: 100, MaxBatch: 100, OnSaved: o.add})
	for i := range 50 {
		_ = s.Put(context.Background(), i)
	}
	s.Close()
	if len(f.written) != 50 || o.n[Written] != 50 {
		t.Fatalf("written %d, outcomes %v; want all 50 ok", len(f.written), o.n)
	}
}
