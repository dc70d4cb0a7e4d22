package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pair returns two caches sharing the test Redis under one fresh prefix, as two instances of
// the service would.
func pair(t *testing.T, o Options) (a, b *Cache, prefix string) {
	t.Helper()
	prefix = testPrefix(t)
	url, _ := sharedRedis(t, prefix)
	o.RedisURL, o.Prefix = url, prefix
	a, b = newCache(t, o), newCache(t, o)
	for _, c := range []*Cache{a, b} {
		if h := c.Health(); h.Status != StatusOK || !h.L2 {
			t.Fatalf("Health = %+v, want ok with L2", h)
		}
	}
	return a, b, prefix
}

func TestRedisReadThrough(t *testing.T) {
	checkNoLeak(t)
	a, b, _ := pair(t, Options{})
	ctx := context.Background()
	var calls int64
	var mu sync.Mutex
	if v, err := a.GetOrLoad(ctx, "k", time.Minute, constLoader("v", &calls, &mu), "detector:1"); err != nil || string(v) != "v" {
		t.Fatalf("a.GetOrLoad = %q, %v", v, err)
	}
	// b has an empty L1: it must find a's value in Redis, not load it again.
	if v, err := b.GetOrLoad(ctx, "k", time.Minute, constLoader("other", &calls, &mu), "detector:1"); err != nil || string(v) != "v" {
		t.Fatalf("b.GetOrLoad = %q, %v; want a's value from L2", v, err)
	}
	// and now from its own L1.
	if v, ok := b.Get(ctx, "k", "detector:1"); !ok || string(v) != "v" {
		t.Fatalf("b.Get = %q, %v", v, ok)
	}
	if calls != 1 {
		t.Errorf("loader called %d times, want 1", calls)
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Loads != 1 || sa.L2Misses != 1 || sa.Misses != 1 {
		t.Errorf("a: %+v, want one L2 miss, one miss, one load", sa)
	}
	if sb.L2Hits != 1 || sb.L1Hits != 1 || sb.L1Misses != 1 || sb.Loads != 0 || sb.Misses != 0 || sb.L2Errors != 0 {
		t.Errorf("b: %+v, want one L1 miss, one L2 hit, one L1 hit, no load", sb)
	}
}

func TestRedisWriteThrough(t *testing.T) {
	checkNoLeak(t)
	a, b, _ := pair(t, Options{})
	ctx := context.Background()
	a.Set(ctx, "k", []byte("v1"), time.Minute)
	if v, ok := b.Get(ctx, "k"); !ok || string(v) != "v1" {
		t.Fatalf("b.Get = %q, %v; want v1 from L2", v, ok)
	}
	// b now holds v1 in L1; a's next Set must reach it.
	a.Set(ctx, "k", []byte("v2"), time.Minute)
	eventually(t, 2*time.Second, "b still serves v1 from L1 after a's Set", func() bool {
		v, ok := b.Get(ctx, "k")
		return ok && string(v) == "v2"
	})
	a.Delete(ctx, "k")
	eventually(t, 2*time.Second, "b still serves k after a's Delete", func() bool {
		_, ok := b.Get(ctx, "k")
		return !ok
	})
	if _, ok := a.Get(ctx, "k"); ok {
		t.Error("a still has k after its Delete")
	}
}

func TestRedisTTL(t *testing.T) {
	a, b, _ := pair(t, Options{})
	ctx := context.Background()
	a.Set(ctx, "k", []byte("v"), 300*time.Millisecond)
	if _, ok := b.Get(ctx, "k"); !ok {
		t.Fatal("b does not find k in L2 right after a's Set")
	}
	time.Sleep(400 * time.Millisecond)
	// Both levels expired: b's L1 copy was promoted with the TTL left in Redis.
	for name, c := range map[string]*Cache{"a": a, "b": b} {
		if v, ok := c.Get(ctx, "k"); ok {
			t.Errorf("%s.Get after the TTL = %q, want a miss", name, v)
		}
	}
}

// detectionResult is what the server caches: a JSON document of scores.
func detectionResult(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, n)
	flags := make([]bool, n)
	for i := range scores {
		scores[i] = 0.4 + 0.2*r.Float64()
		flags[i] = scores[i] > 0.58
	}
	b, err := json.Marshal(map[string]any{"scores": scores, "is_anomaly": flags, "threshold": 0.58})
	if err != nil {
		panic(err)
	}
	return b
}

func TestRedisCompressionRoundTrip(t *testing.T) {
	a, b, prefix := pair(t, Options{CompressAbove: 1024})
	_, rdb := sharedRedis(t, prefix)
	ctx := context.Background()
	tests := []struct {
		name       string
		val        []byte
		wantHeader byte
	}{
		{"empty", []byte{}, codecRaw},
		{"small", []byte("a small value"), codecRaw},
		{"at the threshold", bytes.Repeat([]byte{'x'}, 1024), codecRaw},
		{"large", detectionResult(2000), codecS2},
		{"incompressible", randomBytes(4096), codecRaw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.Set(ctx, tt.name, tt.val, time.Minute, "detector:1")
			got, ok := b.Get(ctx, tt.name, "detector:1")
			if !ok || !bytes.Equal(got, tt.val) {
				t.Fatalf("b.Get: %d bytes, found %v; want the %d bytes a set", len(got), ok, len(tt.val))
			}
			raw, err := rdb.Get(ctx, a.l2Key(tt.name, a.snap(ctx, []string{"detector:1"}).gens)).Bytes()
			if err != nil {
				t.Fatalf("raw Redis value: %v", err)
			}
			if raw[0] != tt.wantHeader {
				t.Errorf("header byte %d, want %d", raw[0], tt.wantHeader)
			}
			if tt.wantHeader == codecS2 && len(raw) >= len(tt.val)*3/4 {
				t.Errorf("stored %d bytes for %d: compression did not pay", len(raw), len(tt.val))
			}
		})
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestRedisUndecodableValue(t *testing.T) {
	a, _, prefix := pair(t, Options{})
	_, rdb := sharedRedis(t, prefix)
	ctx := context.Background()
	k := a.l2Key("k", a.snap(ctx, nil).gens)
	if err := rdb.Set(ctx, k, []byte{7, 1, 2}, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	v, err := a.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("fresh"), nil })
	if err != nil || string(v) != "fresh" {
		t.Fatalf("GetOrLoad over a foreign value = %q, %v", v, err)
	}
	if st := a.Stats(); st.L2Errors != 1 || st.Loads != 1 {
		t.Errorf("Stats %+v: want the foreign value counted as one L2 error and a load", st)
	}
	if h := a.Health(); h.Status != StatusOK {
		t.Errorf("an undecodable value degraded the cache: %+v", h)
	}
}

func TestRedisSingleflight(t *testing.T) {
	checkNoLeak(t)
	a, b, _ := pair(t, Options{})
	var loads atomic.Int64
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		time.Sleep(50 * time.Millisecond)
		return []byte("v"), nil
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			if v, err := c.GetOrLoad(context.Background(), "k", time.Minute, load, "detector:1"); err != nil || string(v) != "v" {
				t.Errorf("GetOrLoad = %q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	// Within one instance misses share a load; the two instances may each load once (they
	// do not lock across Redis).
	if got := loads.Load(); got < 1 || got > 2 {
		t.Errorf("%d concurrent misses on two instances loaded %d times, want 1 or 2", n, got)
	}
}

func TestRedisInvalidateTagAcrossInstances(t *testing.T) {
	checkNoLeak(t)
	a, b, _ := pair(t, Options{})
	ctx := context.Background()
	// Both instances hold entries of detector 1 (and of detector 2) in L1 and L2.
	for _, key := range []string{"scores:x", "scores:y", "meta"} {
		a.Set(ctx, key, []byte("old"), time.Hour, "detector:1")
	}
	a.Set(ctx, "meta2", []byte("keep"), time.Hour, "detector:2")
	for _, key := range []string{"scores:x", "scores:y", "meta"} {
		if v, ok := b.Get(ctx, key, "detector:1"); !ok || string(v) != "old" {
			t.Fatalf("b.Get(%q) = %q, %v before the invalidation", key, v, ok)
		}
	}
	if _, ok := b.Get(ctx, "meta2", "detector:2"); !ok {
		t.Fatal("b misses meta2")
	}

	// b retrains detector 1.
	b.InvalidateTag(ctx, "detector:1")
	for name, c := range map[string]*Cache{"a": a, "b": b} {
		eventually(t, 2*time.Second, name+" still serves detector 1's entries", func() bool {
			for _, key := range []string{"scores:x", "scores:y", "meta"} {
				if _, ok := c.Get(ctx, key, "detector:1"); ok {
					return false
				}
			}
			return true
		})
		if v, ok := c.Get(ctx, "meta2", "detector:2"); !ok || string(v) != "keep" {
			t.Errorf("%s lost detector 2's entry: %q, %v", name, v, ok)
		}
	}
	// New values are cached and shared again.
	v, err := a.GetOrLoad(ctx, "meta", time.Hour, func(context.Context) ([]byte, error) { return []byte("new"), nil }, "detector:1")
	if err != nil || string(v) != "new" {
		t.Fatalf("a.GetOrLoad after the invalidation = %q, %v", v, err)
	}
	if v, ok := b.Get(ctx, "meta", "detector:1"); !ok || string(v) != "new" {
		t.Errorf("b.Get after a's reload = %q, %v; want new from L2", v, ok)
	}

	// A third instance that starts later sees the new generation, not the old entries.
	c := newCache(t, a.opts)
	if v, ok := c.Get(ctx, "scores:x", "detector:1"); ok {
		t.Errorf("a new instance found an invalidated entry: %q", v)
	}
	if v, ok := c.Get(ctx, "meta", "detector:1"); !ok || string(v) != "new" {
		t.Errorf("a new instance: Get(meta) = %q, %v; want new", v, ok)
	}

	a.InvalidateAll(ctx)
	eventually(t, 2*time.Second, "b still serves entries after InvalidateAll", func() bool {
		_, ok1 := b.Get(ctx, "meta2", "detector:2")
		_, ok2 := b.Get(ctx, "meta", "detector:1")
		return !ok1 && !ok2
	})
}

// A generation key lost from Redis (eviction, restart) must not bring back old entries.
func TestRedisLostGeneration(t *testing.T) {
	a, _, prefix := pair(t, Options{})
	_, rdb := sharedRedis(t, prefix)
	ctx := context.Background()
	a.Set(ctx, "k", []byte("v0"), time.Hour, "detector:1")
	a.InvalidateTag(ctx, "detector:1")
	a.Set(ctx, "k", []byte("v1"), time.Hour, "detector:1")
	if err := rdb.Del(ctx, prefix+"tag:detector:1").Err(); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, a.opts)
	if v, ok := c.Get(ctx, "k", "detector:1"); ok {
		t.Errorf("after the generation key was lost, a new instance found %q", v)
	}
}

func TestRedisStats(t *testing.T) {
	a, b, _ := pair(t, Options{})
	ctx := context.Background()
	load := func(context.Context) ([]byte, error) { return []byte("v"), nil }
	_, _ = a.GetOrLoad(ctx, "k", time.Minute, load) // L1 miss, L2 miss, load
	_, _ = a.GetOrLoad(ctx, "k", time.Minute, load) // L1 hit
	_, _ = b.GetOrLoad(ctx, "k", time.Minute, load) // L1 miss, L2 hit
	_, _ = b.Get(ctx, "nope")                       // L1 miss, L2 miss, miss
	a.InvalidateTag(ctx, "detector:9")
	got := []Stats{a.Stats(), b.Stats()}
	want := []Stats{
		{L1Hits: 1, L1Misses: 1, L2Misses: 1, Misses: 1, Loads: 1, Invalidations: 1, L1Entries: got[0].L1Entries, L1Bytes: got[0].L1Bytes},
		{L1Misses: 2, L2Hits: 1, L2Misses: 1, Misses: 1, L1Entries: got[1].L1Entries, L1Bytes: got[1].L1Bytes},
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("instance %d: Stats = %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// L1 applies a write's weight in its maintenance pass, after the write returns: the
	// weight shows up soon, not at once.
	st := a.Stats()
	for deadline := time.Now().Add(5 * time.Second); (st.L1Entries != 1 || st.L1Bytes == 0) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		st = a.Stats()
	}
	if st.L1Entries != 1 || st.L1Bytes == 0 {
		t.Errorf("a: L1Entries %d, L1Bytes %d; want one entry with a weight", st.L1Entries, st.L1Bytes)
	}
}

// Instances that invalidate one tag at the same time end on the same generation as Redis,
// the last one, whatever order the announcements reach them in.
func TestRedisConcurrentInvalidationsConverge(t *testing.T) {
	checkNoLeak(t)
	a, b, prefix := pair(t, Options{})
	_, rdb := sharedRedis(t, prefix)
	ctx := context.Background()
	a.Set(ctx, "k", []byte("v"), time.Hour, "detector:1")
	b.Get(ctx, "k", "detector:1")
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			c.InvalidateTag(ctx, "detector:1")
		}()
	}
	wg.Wait()
	final, err := rdb.Get(ctx, prefix+"tag:detector:1").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seq(final), "0000000000000064"; got != want {
		t.Errorf("sequence after %d invalidations = %s, want %s", n, got, want)
	}
	for name, c := range map[string]*Cache{"a": a, "b": b} {
		eventually(t, 2*time.Second, name+" did not converge on Redis's generation", func() bool {
			g := c.tag("detector:1").gen.Load()
			return g != nil && *g == final
		})
	}
}

func TestAdvanceNeverGoesBack(t *testing.T) {
	ts := &tagState{}
	steps := []struct {
		gen  string
		want bool
	}{
		{"0000000000000000aaaaaaaaaaaaaaaa", true},  // first seen
		{"0000000000000002bbbbbbbbbbbbbbbb", true},  // later
		{"0000000000000001cccccccccccccccc", false}, // a late message
		{"0000000000000002dddddddddddddddd", false}, // same sequence: not later
		{"000000000000000aeeeeeeeeeeeeeeee", true},  // hex order
	}
	for _, s := range steps {
		epoch := ts.epoch.Load()
		if got := ts.advance(s.gen); got != s.want {
			t.Errorf("advance(%s) = %v, want %v", s.gen, got, s.want)
		}
		if moved := ts.epoch.Load() != epoch; moved != s.want {
			t.Errorf("advance(%s): epoch moved = %v, want %v", s.gen, moved, s.want)
		}
	}
}
