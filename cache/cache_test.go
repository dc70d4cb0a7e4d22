package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero value", Options{}, true},
		{"by entries", Options{MaxEntries: 10}, true},
		{"by bytes", Options{MaxBytes: 1 << 10}, true},
		{"both bounds", Options{MaxEntries: 10, MaxBytes: 1 << 10}, false},
		{"negative entries", Options{MaxEntries: -1}, false},
		{"negative ttl", Options{DefaultTTL: -time.Second}, false},
		{"probe max below min", Options{ProbeMin: time.Second, ProbeMax: time.Millisecond}, false},
		{"bad url", Options{RedisURL: "http://example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			c, err := New(context.Background(), tt.o)
			if tt.ok != (err == nil) {
				t.Fatalf("New(%+v): err = %v, want ok = %v", tt.o, err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrOptions) {
					t.Errorf("error %v does not wrap ErrOptions", err)
				}
				return
			}
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestL1ReadThroughAndWriteThrough(t *testing.T) {
	checkNoLeak(t)
	c := newCache(t, Options{})
	ctx := context.Background()
	var calls int64
	var mu sync.Mutex
	for i := range 3 {
		v, err := c.GetOrLoad(ctx, "k", time.Minute, constLoader("v1", &calls, &mu))
		if err != nil || string(v) != "v1" {
			t.Fatalf("GetOrLoad #%d = %q, %v", i, v, err)
		}
	}
	if calls != 1 {
		t.Errorf("loader called %d times, want 1", calls)
	}
	c.Set(ctx, "k", []byte("v2"), time.Minute)
	if v, ok := c.Get(ctx, "k"); !ok || string(v) != "v2" {
		t.Errorf("Get after Set = %q, %v; want v2", v, ok)
	}
	c.Delete(ctx, "k")
	if v, ok := c.Get(ctx, "k"); ok {
		t.Errorf("Get after Delete = %q, want a miss", v)
	}
	st := c.Stats()
	want := Stats{L1Hits: 3, L1Misses: 2, Misses: 2, Loads: 1, Sets: 1, Deletes: 1}
	st.L1Entries, st.L1Bytes = 0, 0
	if st != want {
		t.Errorf("Stats = %+v\nwant    %+v", st, want)
	}
}

func TestSetCopiesValue(t *testing.T) {
	c := newCache(t, Options{})
	buf := []byte("abc")
	c.Set(context.Background(), "k", buf, time.Minute)
	buf[0] = 'X'
	if v, _ := c.Get(context.Background(), "k"); string(v) != "abc" {
		t.Errorf("Get = %q after the caller changed its buffer, want abc", v)
	}
}

func TestL1TTL(t *testing.T) {
	tests := []struct {
		name  string
		l1TTL time.Duration
		ttl   time.Duration
		gone  time.Duration // the entry must be gone after this long
	}{
		{"entry ttl", time.Hour, 50 * time.Millisecond, 150 * time.Millisecond},
		{"L1 cap", 50 * time.Millisecond, time.Hour, 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, Options{L1TTL: tt.l1TTL})
			ctx := context.Background()
			c.Set(ctx, "k", []byte("v"), tt.ttl)
			if _, ok := c.Get(ctx, "k"); !ok {
				t.Fatal("entry missing right after Set")
			}
			time.Sleep(tt.gone)
			if v, ok := c.Get(ctx, "k"); ok {
				t.Errorf("Get after %v = %q, want expired", tt.gone, v)
			}
		})
	}
}

func TestL1Bounds(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"entries", Options{MaxEntries: 100}},
		{"bytes", Options{MaxBytes: 100 * (1024 + entryOverhead + 64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, tt.o)
			ctx := context.Background()
			val := bytes.Repeat([]byte{'x'}, 1024)
			for i := range 5000 {
				c.Set(ctx, fmt.Sprintf("key-%05d", i), val, time.Hour)
			}
			c.l1.CleanUp()
			st := c.Stats()
			if st.L1Entries > 110 {
				t.Errorf("L1 holds %d entries, bound is about 100", st.L1Entries)
			}
			if tt.o.MaxBytes > 0 && st.L1Bytes > tt.o.MaxBytes {
				t.Errorf("L1 weighs %d bytes, bound %d", st.L1Bytes, tt.o.MaxBytes)
			}
		})
	}
}

func TestL1InvalidateTag(t *testing.T) {
	c := newCache(t, Options{})
	ctx := context.Background()
	c.Set(ctx, "a", []byte("1"), time.Hour, "detector:1")
	c.Set(ctx, "b", []byte("2"), time.Hour, "detector:1", "dataset:9")
	c.Set(ctx, "c", []byte("3"), time.Hour, "detector:2")
	c.Set(ctx, "d", []byte("4"), time.Hour)
	c.InvalidateTag(ctx, "detector:1")
	for _, tt := range []struct {
		key  string
		tags []string
		want bool
	}{
		{"a", []string{"detector:1"}, false},
		{"b", []string{"detector:1", "dataset:9"}, false},
		{"c", []string{"detector:2"}, true},
		{"d", nil, true},
		{"c", []string{"detector:3"}, false}, // other tags: another entry
		{"c", nil, false},
	} {
		if _, ok := c.Get(ctx, tt.key, tt.tags...); ok != tt.want {
			t.Errorf("Get(%q, %q) found = %v, want %v", tt.key, tt.tags, ok, tt.want)
		}
	}
	c.InvalidateAll(ctx)
	if _, ok := c.Get(ctx, "d"); ok {
		t.Error("untagged entry survives InvalidateAll")
	}
}

// A load that started before an invalidation must not be served after it.
func TestLoadRacingInvalidation(t *testing.T) {
	c := newCache(t, Options{})
	ctx := context.Background()
	v, err := c.GetOrLoad(ctx, "k", time.Hour, func(ctx context.Context) ([]byte, error) {
		c.InvalidateTag(ctx, "detector:1") // the detector is retrained while we score
		return []byte("old"), nil
	}, "detector:1")
	if err != nil || string(v) != "old" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
	v, _ = c.GetOrLoad(ctx, "k", time.Hour, func(context.Context) ([]byte, error) { return []byte("new"), nil }, "detector:1")
	if string(v) != "new" {
		t.Errorf("after the invalidation GetOrLoad = %q, want new", v)
	}
}

func TestSingleflight(t *testing.T) {
	checkNoLeak(t)
	c := newCache(t, Options{})
	var loads atomic.Int64
	release := make(chan struct{})
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		<-release
		return []byte("v"), nil
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.GetOrLoad(context.Background(), "k", time.Minute, load, "detector:1")
			if err != nil || string(v) != "v" {
				errs <- fmt.Errorf("GetOrLoad = %q, %v", v, err)
			}
		}()
	}
	// Wait until every caller is either the loader or waiting for it.
	eventually(t, 5*time.Second, "callers did not all arrive", func() bool {
		st := c.Stats()
		return st.L1Misses == n
	})
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := loads.Load(); got != 1 {
		t.Errorf("%d concurrent misses loaded %d times, want 1", n, got)
	}
	// A caller slower than the load finds the value in L1 instead of sharing the flight.
	if st := c.Stats(); st.Shared == 0 || st.Shared+st.Loads > n {
		t.Errorf("Shared %d, Loads %d for %d callers", st.Shared, st.Loads, n)
	}
}

func TestLoaderErrorNotCached(t *testing.T) {
	c := newCache(t, Options{})
	ctx := context.Background()
	boom := errors.New("boom")
	_, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap boom", err)
	}
	v, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(v) != "ok" {
		t.Errorf("after a failed load GetOrLoad = %q, %v; want ok", v, err)
	}
	if st := c.Stats(); st.LoadErrors != 1 || st.Loads != 2 {
		t.Errorf("Loads %d LoadErrors %d, want 2 and 1", st.Loads, st.LoadErrors)
	}
}

// When the caller that runs a load gives up, a waiter that has not loads again rather than
// failing with someone else's context error.
func TestLeaderGivesUp(t *testing.T) {
	checkNoLeak(t)
	c := newCache(t, Options{})
	leaderCtx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(leaderCtx, "k", time.Minute, func(ctx context.Context) ([]byte, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		leaderErr <- err
	}()
	<-started
	waiterVal := make(chan string, 1)
	go func() {
		v, err := c.GetOrLoad(context.Background(), "k", time.Minute, func(context.Context) ([]byte, error) {
			return []byte("mine"), nil
		})
		if err != nil {
			waiterVal <- "error: " + err.Error()
			return
		}
		waiterVal <- string(v)
	}()
	eventually(t, 5*time.Second, "waiter did not arrive", func() bool { return c.Stats().L1Misses == 2 })
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: err = %v, want context.Canceled", err)
	}
	if v := <-waiterVal; v != "mine" {
		t.Errorf("waiter got %q, want its own load's value", v)
	}
}

func TestWaiterContext(t *testing.T) {
	c := newCache(t, Options{})
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.GetOrLoad(context.Background(), "k", time.Minute, func(context.Context) ([]byte, error) {
			<-release
			return []byte("v"), nil
		})
	}()
	eventually(t, 5*time.Second, "leader did not start", func() bool { return c.Stats().Loads == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("x"), nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter whose context ends: err = %v, want DeadlineExceeded", err)
	}
	close(release)
	<-done
}

func TestLoaderPanic(t *testing.T) {
	c := newCache(t, Options{})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the loader's panic did not reach its caller")
			}
		}()
		_, _ = c.GetOrLoad(context.Background(), "k", time.Minute, func(context.Context) ([]byte, error) { panic("loader bug") })
	}()
	v, err := c.GetOrLoad(context.Background(), "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(v) != "ok" {
		t.Errorf("after a panicking load GetOrLoad = %q, %v", v, err)
	}
}

func TestHealthL1Only(t *testing.T) {
	c := newCache(t, Options{})
	h := c.Health()
	if h.Status != StatusOK || h.L2 || h.Err != nil || h.Since.IsZero() {
		t.Errorf("Health = %+v, want ok without L2", h)
	}
}

func TestUseAfterCloseStaysLocal(t *testing.T) {
	checkNoLeak(t)
	prefix := testPrefix(t)
	url, _ := sharedRedis(t, prefix)
	c, err := New(context.Background(), Options{RedisURL: url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		c.Set(ctx, "k", []byte("v"), time.Minute, "detector:1")
		c.InvalidateTag(ctx, "detector:1")
		c.Delete(ctx, "k")
		_, _ = c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("v"), nil })
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("calls after Close hang")
	}
}
