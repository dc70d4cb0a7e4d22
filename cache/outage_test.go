package cache

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// outageOptions probe quickly so that the tests do not wait long for a reconnection.
func outageOptions(url string, log *logRecorder) Options {
	return Options{RedisURL: url, Prefix: "outage:", ProbeMin: 20 * time.Millisecond, ProbeMax: 200 * time.Millisecond,
		L2Timeout: 100 * time.Millisecond, Logger: slog.New(log)}
}

// Kill Redis during use: requests keep succeeding from L1 and loaders, without waiting on the
// dead server, Health turns degraded, the change is logged once; start Redis again on the same
// port: the cache reconnects by itself and uses L2 again.
func TestRedisOutage(t *testing.T) {
	checkNoLeak(t)
	srv := testsvc.StartRedis(t)
	log := &logRecorder{}
	c := newCache(t, outageOptions(srv.URL(), log))
	ctx := context.Background()
	load := func(v string) Loader {
		return func(context.Context) ([]byte, error) { return []byte(v), nil }
	}
	if _, err := c.GetOrLoad(ctx, "before", time.Hour, load("b"), "detector:1"); err != nil {
		t.Fatal(err)
	}

	killed := time.Now()
	srv.Kill()
	start := time.Now()
	const n = 300
	for i := range n {
		key := fmt.Sprintf("during-%d", i%30)
		v, err := c.GetOrLoad(ctx, key, time.Hour, load(key), "detector:1")
		if err != nil || string(v) != key {
			t.Fatalf("GetOrLoad(%q) while Redis is down = %q, %v", key, v, err)
		}
		if v, ok := c.Get(ctx, "before", "detector:1"); !ok || string(v) != "b" {
			t.Fatalf("Get(before) while Redis is down = %q, %v; want the L1 copy", v, ok)
		}
		c.Set(ctx, "set-during", []byte("s"), time.Hour)
	}
	elapsed := time.Since(start)
	// Only the first request meets the dead server (a refused connection, at most L2Timeout);
	// the rest skip L2.
	if elapsed > time.Second {
		t.Errorf("%d rounds of requests took %v while Redis was down: they wait on it", n, elapsed)
	}
	h := c.Health()
	if h.Status != StatusDegraded || h.Err == nil || h.Since.Before(killed) {
		t.Errorf("Health while down = %+v, want degraded with an error since the kill", h)
	}
	st := c.Stats()
	if st.L2Errors > 10 {
		t.Errorf("%d L2 errors for %d requests: the cache keeps asking the dead server", st.L2Errors, 3*n)
	}
	if st.L2Skipped == 0 {
		t.Error("no lookup skipped L2 while it was down")
	}
	time.Sleep(300 * time.Millisecond) // a few probes fail meanwhile
	if got := log.count("unreachable"); got != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", got, log.all())
	}

	srv.Start()
	eventually(t, 10*time.Second, "cache did not reconnect", func() bool { return c.Health().Status == StatusOK })
	if h := c.Health(); h.Err != nil || h.Since.Before(killed) {
		t.Errorf("Health after the restart = %+v", h)
	}
	if got := log.count("reachable again"); got != 1 {
		t.Errorf("logged the recovery %d times, want once:\n%s", got, log.all())
	}
	// L2 is in use again: a second instance finds what this one writes.
	c.Set(ctx, "after", []byte("a"), time.Hour, "detector:1")
	other := newCache(t, outageOptions(srv.URL(), &logRecorder{}))
	if v, ok := other.Get(ctx, "after", "detector:1"); !ok || string(v) != "a" {
		t.Errorf("a second instance: Get(after) = %q, %v; want it from L2", v, ok)
	}
	if s := other.Stats(); s.L2Hits != 1 {
		t.Errorf("second instance: %d L2 hits, want 1", s.L2Hits)
	}
	before := c.Stats().L2Hits
	c.l1.InvalidateAll()
	if v, ok := c.Get(ctx, "after", "detector:1"); !ok || string(v) != "a" || c.Stats().L2Hits != before+1 {
		t.Errorf("after the restart Get with an empty L1 = %q, %v: want an L2 hit", v, ok)
	}
}

// What an instance changes while Redis is out of reach must reach Redis and the peers when
// it is back, or they would serve stale entries: with the instance cut off from a Redis that
// its peers still use (a partition), and with a Redis that hangs (SIGSTOP) and resumes.
func TestRedisOutageChangesReachPeers(t *testing.T) {
	tests := []struct {
		name string
		// outage starts cutting a off; it returns the URL a uses and the end of the outage.
		outage func(t *testing.T, srv *testsvc.RedisServer) (url string, cut, resume func())
	}{
		{"partition", func(t *testing.T, srv *testsvc.RedisServer) (string, func(), func()) {
			px := startProxy(t, "127.0.0.1:"+strconv.Itoa(srv.Port()))
			return px.url(), px.cut, px.restore
		}},
		{"hang", func(t *testing.T, srv *testsvc.RedisServer) (string, func(), func()) {
			return srv.URL(), srv.Pause, srv.Resume
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			srv := testsvc.StartRedis(t)
			ctx := context.Background()
			url, cut, resume := tt.outage(t, srv)
			log := &logRecorder{}
			a := newCache(t, outageOptions(url, log))
			b := newCache(t, outageOptions(srv.URL(), &logRecorder{}))
			a.Set(ctx, "scores", []byte("old"), time.Hour, "detector:1")
			a.Set(ctx, "plain", []byte("old"), time.Hour)
			if v, ok := b.Get(ctx, "scores", "detector:1"); !ok || string(v) != "old" {
				t.Fatalf("b.Get(scores) = %q, %v", v, ok)
			}
			if v, ok := b.Get(ctx, "plain"); !ok || string(v) != "old" {
				t.Fatalf("b.Get(plain) = %q, %v", v, ok)
			}

			cut()
			// a retrains detector 1 and changes plain while it cannot reach Redis.
			a.InvalidateTag(ctx, "detector:1")
			a.Set(ctx, "plain", []byte("new"), time.Hour)
			if h := a.Health(); h.Status != StatusDegraded {
				t.Fatalf("a.Health during the outage = %+v, want degraded", h)
			}
			if _, ok := a.Get(ctx, "scores", "detector:1"); ok {
				t.Error("a serves an entry of a tag it invalidated during the outage")
			}
			if v, _ := a.Get(ctx, "plain"); string(v) != "new" {
				t.Errorf("a.Get(plain) = %q, want its own new value", v)
			}

			resume()
			for name, c := range map[string]*Cache{"a": a, "b": b} {
				eventually(t, 10*time.Second, name+" did not reconnect", func() bool { return c.Health().Status == StatusOK })
			}
			eventually(t, 2*time.Second, "b still serves the invalidated entry", func() bool {
				_, ok := b.Get(ctx, "scores", "detector:1")
				return !ok
			})
			eventually(t, 2*time.Second, "b still serves the old value of plain", func() bool {
				v, ok := b.Get(ctx, "plain")
				return !ok || string(v) == "new"
			})
			// A new instance finds nothing stale in L2.
			c := newCache(t, outageOptions(srv.URL(), &logRecorder{}))
			if v, ok := c.Get(ctx, "scores", "detector:1"); ok {
				t.Errorf("a new instance found the invalidated entry %q in L2", v)
			}
			if v, ok := c.Get(ctx, "plain"); ok && string(v) != "new" {
				t.Errorf("a new instance found the old value %q of plain in L2", v)
			}
			if got := log.count("unreachable"); got != 1 {
				t.Errorf("a logged the outage %d times, want once:\n%s", got, log.all())
			}
		})
	}
}

// A cache whose Redis is down from the start works from L1 and connects when Redis comes up.
func TestRedisDownAtStart(t *testing.T) {
	checkNoLeak(t)
	srv := testsvc.StartRedis(t)
	srv.Kill()
	log := &logRecorder{}
	c := newCache(t, outageOptions(srv.URL(), log))
	ctx := context.Background()
	if h := c.Health(); h.Status != StatusDegraded || !h.L2 {
		t.Fatalf("Health with Redis down at start = %+v, want degraded", h)
	}
	v, err := c.GetOrLoad(ctx, "k", time.Hour, func(context.Context) ([]byte, error) { return []byte("v"), nil })
	if err != nil || string(v) != "v" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
	srv.Start()
	eventually(t, 10*time.Second, "cache did not connect", func() bool { return c.Health().Status == StatusOK })
	c.Set(ctx, "k2", []byte("v2"), time.Hour)
	other := newCache(t, outageOptions(srv.URL(), &logRecorder{}))
	if v, ok := other.Get(ctx, "k2"); !ok || string(v) != "v2" {
		t.Errorf("second instance: Get(k2) = %q, %v; want it from L2", v, ok)
	}
	if got := log.count("unreachable"); got != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", got, log.all())
	}
}

// Messages published while an instance is cut off from Redis are lost to it: once it
// subscribes again it must not serve L1 entries that a lost message concerned.
func TestPartitionedInstanceEmptiesL1(t *testing.T) {
	checkNoLeak(t)
	srv := testsvc.StartRedis(t)
	ctx := context.Background()
	a := newCache(t, outageOptions(srv.URL(), &logRecorder{}))
	// a writes plain before b subscribes: b must not get this Set's announcement, which it
	// could apply after its own fill of L1 below (its subscription works through the
	// confirmation and a refresh first) and so lose the L1 copy the partition relies on.
	a.Set(ctx, "plain", []byte("old"), time.Hour)
	px := startProxy(t, "127.0.0.1:"+strconv.Itoa(srv.Port()))
	b := newCache(t, outageOptions(px.url(), &logRecorder{}))
	if v, ok := b.Get(ctx, "plain"); !ok || string(v) != "old" {
		t.Fatalf("b.Get(plain) = %q, %v", v, ok)
	}

	px.cut()
	eventually(t, 2*time.Second, "b did not notice the partition", func() bool { return b.Health().Status == StatusDegraded })
	a.Set(ctx, "plain", []byte("new"), time.Hour) // b cannot receive this
	if v, _ := b.Get(ctx, "plain"); string(v) != "old" {
		t.Fatalf("during the partition b.Get(plain) = %q, want its L1 copy", v)
	}
	px.restore()
	eventually(t, 5*time.Second, "b did not reconnect", func() bool { return b.Health().Status == StatusOK })
	eventually(t, 2*time.Second, "b serves the old value from L1 after it subscribed again", func() bool {
		v, ok := b.Get(ctx, "plain")
		return ok && string(v) == "new"
	})
}

// A Redis restored from an old snapshot brings back old generations, under which old entries
// are readable again. An instance that reconnects and finds a generation other than the one
// it knows replaces it, so that those entries stay unreachable.
func TestRedisRestoredFromOldSnapshot(t *testing.T) {
	checkNoLeak(t)
	srv := testsvc.StartRedis(t)
	px := startProxy(t, "127.0.0.1:"+strconv.Itoa(srv.Port()))
	ctx := context.Background()
	a := newCache(t, outageOptions(px.url(), &logRecorder{}))
	a.Set(ctx, "scores", []byte("v0"), time.Hour, "detector:1")
	admin := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(srv.Port())})
	defer admin.Close()
	oldGen, err := admin.Get(ctx, "outage:tag:detector:1").Result()
	if err != nil {
		t.Fatal(err)
	}
	a.InvalidateTag(ctx, "detector:1") // retrained: v0 is stale
	a.Set(ctx, "scores", []byte("v1"), time.Hour, "detector:1")

	px.cut()
	eventually(t, 2*time.Second, "a did not notice the outage", func() bool {
		a.Get(ctx, "other")
		return a.Health().Status == StatusDegraded
	})
	// Redis comes back from a snapshot taken before the invalidation.
	if err := admin.Set(ctx, "outage:tag:detector:1", oldGen, 0).Err(); err != nil {
		t.Fatal(err)
	}
	px.restore()
	eventually(t, 10*time.Second, "a did not reconnect", func() bool { return a.Health().Status == StatusOK })
	c := newCache(t, outageOptions(srv.URL(), &logRecorder{}))
	if v, ok := c.Get(ctx, "scores", "detector:1"); ok && string(v) == "v0" {
		t.Error("after the restore a new instance reads the entry invalidated before it")
	}
}
