package optimize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/internal/testsvc"
)

// counted is a function to memoize that counts its calls: the sum of squares up to n.
type counted struct{ calls atomic.Int64 }

func (c *counted) fn(_ context.Context, n int) ([]float64, error) {
	c.calls.Add(1)
	if n < 0 {
		return nil, fmt.Errorf("negative %d", n)
	}
	s := 0.0
	for i := range n {
		s += float64(i * i)
	}
	return []float64{s, float64(n)}, nil
}

func plainSum(n int) []float64 {
	s := 0.0
	for i := range n {
		s += float64(i * i)
	}
	return []float64{s, float64(n)}
}

func newMemo(t *testing.T, c *counted, codec Codec[[]float64], opts MemoOptions) *Memo[int, []float64] {
	t.Helper()
	m, err := Memoize(c.fn, strconv.Itoa, codec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMemoizeResultsUnchangedAndCached(t *testing.T) {
	checkNoLeak(t)
	for _, tc := range []struct {
		name  string
		codec Codec[[]float64]
		opts  MemoOptions
		loads int64 // calls of the function for the two passes below
	}{
		{"json", nil, MemoOptions{}, 50},
		{"float64s", Float64sCodec{}, MemoOptions{TTL: time.Minute, SizeMB: 1}, 50},
		{"disabled", nil, MemoOptions{Disabled: true}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counted{}
			m := newMemo(t, c, tc.codec, tc.opts)
			ctx := context.Background()
			for pass := range 2 {
				for n := range 50 {
					got, err := m.Call(ctx, n)
					if err != nil {
						t.Fatal(err)
					}
					if want := plainSum(n); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("pass %d, n=%d: got %v, want %v", pass, n, got, want)
					}
				}
			}
			if got := c.calls.Load(); got != tc.loads {
				t.Errorf("the function ran %d times, want %d", got, tc.loads)
			}
			if s := m.Stats(); s.Calls != 100 || int64(s.Loads) != tc.loads {
				t.Errorf("stats %+v: want 100 calls and %d loads", s, tc.loads)
			}
		})
	}
}

func TestMemoizeLongKeysAreHashed(t *testing.T) {
	c := &counted{}
	m, err := Memoize(c.fn, func(n int) string { return strings.Repeat("k", 1000) + strconv.Itoa(n) }, nil, MemoOptions{SizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if k := m.cacheKey(7); len(k) > 80 {
		t.Errorf("key of %d bytes", len(k))
	}
	for range 3 {
		for n := range 2 {
			if got, _ := m.Call(context.Background(), n); got[1] != float64(n) {
				t.Fatalf("n=%d: got %v", n, got)
			}
		}
	}
	if got := c.calls.Load(); got != 2 {
		t.Errorf("the function ran %d times, want 2 (one per key)", got)
	}
}

func TestMemoizeTTLExpires(t *testing.T) {
	c := &counted{}
	m := newMemo(t, c, nil, MemoOptions{TTL: 50 * time.Millisecond, SizeMB: 1})
	ctx := context.Background()
	if _, err := m.Call(ctx, 3); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the result was still cached 10 s after its 50 ms TTL")
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := m.Call(ctx, 3); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoizeSizeBound(t *testing.T) {
	// 4 KiB results; 1 MiB holds about 250 of them, 2000 do not fit.
	big := func(_ context.Context, n int) ([]byte, error) {
		return []byte(strings.Repeat("x", 4096) + strconv.Itoa(n)), nil
	}
	m, err := Memoize(big, strconv.Itoa, nil, MemoOptions{SizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for n := range 2000 {
		if _, err := m.Call(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	// otter weighs and evicts in its maintenance pass, after the writes return.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := m.Stats().Cache
		if s.L1Bytes <= 1<<20 && s.L1Bytes > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache holds %d bytes in %d entries, over its 1 MiB", s.L1Bytes, s.L1Entries)
		}
		time.Sleep(20 * time.Millisecond)
		m.Call(context.Background(), 0) // a read runs maintenance too
	}
}

func TestMemoizeConcurrentCallsLoadOnce(t *testing.T) {
	checkNoLeak(t)
	var calls atomic.Int64
	release := make(chan struct{})
	slow := func(_ context.Context, n int) (int, error) {
		calls.Add(1)
		<-release
		return n * 2, nil
	}
	m, err := Memoize(slow, strconv.Itoa, nil, MemoOptions{SizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const callers = 16
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			v, err := m.Call(context.Background(), 21)
			if err == nil && v != 42 {
				err = fmt.Errorf("got %d", v)
			}
			errs <- err
		})
	}
	// Let the callers pile up behind the first load, then release it.
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d concurrent calls of one key ran the function %d times, want 1", callers, n)
	}
}

var errBoom = errors.New("boom")

func TestMemoizeErrorsPropagateAndAreNotCached(t *testing.T) {
	var calls atomic.Int64
	fail := true
	fn := func(_ context.Context, n int) (int, error) {
		calls.Add(1)
		if fail {
			return 0, fmt.Errorf("item %d: %w", n, errBoom)
		}
		return n, nil
	}
	m, err := Memoize(fn, strconv.Itoa, nil, MemoOptions{SizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Call(context.Background(), 5)
	if !errors.Is(err, errBoom) || err.Error() != "item 5: boom" {
		t.Fatalf("got %v, want the function's own error", err)
	}
	fail = false
	if v, err := m.Call(context.Background(), 5); err != nil || v != 5 {
		t.Fatalf("after the error: %v, %v (the error was cached?)", v, err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the function ran %d times, want 2", n)
	}
}

func TestMemoizeCancellation(t *testing.T) {
	checkNoLeak(t)
	started := make(chan struct{})
	fn := func(ctx context.Context, n int) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	}
	m, err := Memoize(fn, strconv.Itoa, nil, MemoOptions{SizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := m.Call(ctx, 1); done <- err }()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Call did not return after its context was cancelled")
	}
	if _, err := m.Call(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("a call with a done context: %v", err)
	}
}

func TestMemoizeUncacheableResultIsReturned(t *testing.T) {
	var calls atomic.Int64
	fn := func(_ context.Context, n int) (float64, error) { calls.Add(1); return math.NaN(), nil }
	m, err := Memoize(fn, strconv.Itoa, nil, MemoOptions{SizeMB: 1}) // JSON has no NaN
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for range 2 {
		if v, err := m.Call(context.Background(), 1); err != nil || !math.IsNaN(v) {
			t.Fatalf("got %v, %v", v, err)
		}
	}
	if s := m.Stats(); calls.Load() != 2 || s.EncodeErrors != 2 {
		t.Errorf("%d calls, stats %+v: want 2 calls and 2 encode errors", calls.Load(), s)
	}
}

func TestMemoizeOptionsErrors(t *testing.T) {
	c := &counted{}
	shared, err := cache.New(context.Background(), cache.Options{MaxEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	for _, tc := range []struct {
		name string
		opts MemoOptions
	}{
		{"negative ttl", MemoOptions{TTL: -1}},
		{"negative size", MemoOptions{SizeMB: -1}},
		{"huge size", MemoOptions{SizeMB: maxCacheSizeMB + 1}},
		{"shared without name", MemoOptions{Cache: shared}},
		{"shared with size", MemoOptions{Cache: shared, Name: "x", SizeMB: 1}},
	} {
		if _, err := Memoize(c.fn, strconv.Itoa, nil, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// Two instances with caches on one Redis share results: the second finds the first's in L2.
func TestMemoizeSharedCacheAcrossInstances(t *testing.T) {
	url := testsvc.RedisURL(t)
	prefix := fmt.Sprintf("gonomaly:test:memo:%d:", time.Now().UnixNano())
	newCache := func() *cache.Cache {
		c, err := cache.New(context.Background(), cache.Options{MaxBytes: 1 << 20, RedisURL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := &counted{}, &counted{}
	ma := newMemo(t, a, Float64sCodec{}, MemoOptions{Cache: newCache(), Name: "sum"})
	mb := newMemo(t, b, Float64sCodec{}, MemoOptions{Cache: newCache(), Name: "sum"})
	ctx := context.Background()
	want, err := ma.Call(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mb.Call(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || a.calls.Load() != 1 || b.calls.Load() != 0 {
		t.Errorf("second instance got %v (want %v); calls %d and %d, want 1 and 0", got, want, a.calls.Load(), b.calls.Load())
	}
}
