package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/gonomaly/gonomaly/store"
	_ "github.com/gonomaly/gonomaly/store/postgres"
	"github.com/redis/go-redis/v9"
)

// instance is one service instance over a shared store URL and Redis.
func instance(t *testing.T, dbURL, redisURL string) (*env, *cache.Cache) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, store.Options{PoolSize: 4, MaxOverflow: 4})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(ctx, cache.Options{RedisURL: redisURL, ProbeMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(ctx, Config{Store: st, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, http: httptest.NewServer(srv.Handler()), st: st}
	t.Cleanup(func() { e.close(); c.Close() })
	return e, c
}

func (e *env) predictOK(id string, data [][]float64) []float64 {
	e.t.Helper()
	var p predictResponse
	if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": data}, &p); st != http.StatusOK {
		e.t.Fatalf("predict: status %d", st)
	}
	return p.Scores
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 60 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two instances share PostgreSQL and Redis: a model trained on one is served by the other
// through L2, a retrain on one reaches the other at once, and when Redis dies both keep
// answering (degraded), then use Redis again when it is back.
func TestTwoInstancesOnPostgresAndRedisSurviveARedisOutage(t *testing.T) {
	dbURL := testsvc.PostgresSchema(t, "servertest")
	redis := testsvc.StartRedis(t)
	a, _ := instance(t, dbURL, redis.URL())
	b, cb := instance(t, dbURL, redis.URL())

	train, test := rows(400, 5, 21), rows(20, 5, 22)
	id := a.createAndTrain("isolation_forest", map[string]any{"seed": 1}, train)
	want := a.predictOK(id, test)
	got := b.predictOK(id, test)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: instance b scores %v, a %v", i, got[i], want[i])
		}
	}
	if st := cb.Stats(); st.L2Hits == 0 {
		t.Fatalf("instance b did not read the model from Redis: %+v", st)
	}

	redis.Kill()
	for i := range 50 {
		a.predictOK(id, test[i%len(test):i%len(test)+1])
		b.predictOK(id, test[i%len(test):i%len(test)+1])
	}
	var ready map[string]any
	waitFor(t, "readyz to report degraded", func() bool {
		ready = nil
		st := b.do("GET", "/readyz", nil, &ready)
		return st == http.StatusOK && ready["status"] == "degraded"
	})
	// A new detector trains and serves with Redis down: the store and L1 are enough.
	id2 := a.createAndTrain("hbos", nil, train)
	b.predictOK(id2, test)

	redis.Start()
	waitFor(t, "the cache to use Redis again", func() bool { return cb.Health().Status == cache.StatusOK })
	hits := cb.Stats().L2Hits
	// A retrain on a reaches b at once, through the invalidation channel.
	shifted := rows(400, 5, 23)
	for _, r := range shifted {
		r[0] += 4
	}
	if st := a.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": id, "data": shifted}, nil); st != 200 {
		t.Fatalf("retrain: status %d", st)
	}
	_, fresh := offline(t, "isolation_forest", map[string]any{"seed": 1}, shifted, test)
	waitFor(t, "instance b to serve the retrained model", func() bool {
		s := b.predictOK(id, test)
		return s[0] == fresh[0]
	})
	if cb.Stats().L2Hits <= hits {
		t.Errorf("instance b read nothing from Redis after it came back: %+v", cb.Stats())
	}
	ready = nil
	if st := b.do("GET", "/readyz", nil, &ready); st != 200 || ready["status"] != "ok" {
		t.Errorf("readyz after Redis returned: %d %v", st, ready)
	}
}

// Defect class 6: retraining or deleting a detector leaves no copy of its old models in Redis
// (they used to stay there, unreachable, until their TTL).
func TestRetrainAndDeleteLeaveNoStaleModelsInRedis(t *testing.T) {
	dbURL := testsvc.PostgresSchema(t, "stalemodels")
	rs := testsvc.StartRedis(t) // a private Redis: its keys are this test's alone
	e, _ := instance(t, dbURL, rs.URL())
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(rs.Port())})
	defer rdb.Close()
	ctx := context.Background()
	models := func(id string) []string {
		keys, err := rdb.Keys(ctx, "*model:"+id+":*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	for _, alg := range []string{"isolation_forest", "hbos", "local_outlier_factor"} {
		id := e.createAndTrain(alg, nil, rows(300, 4, 31))
		for i := range 4 {
			if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": id, "data": rows(300, 4, uint64(40+i))}, nil); st != 200 {
				t.Fatalf("retrain %d: %d", i, st)
			}
			e.predictOK(id, rows(2, 4, 1))
			if keys := models(id); len(keys) != 1 {
				t.Fatalf("%s after retrain %d: %d model copies in Redis, want 1: %v", alg, i+1, len(keys), keys)
			}
		}
		if st := e.do("DELETE", "/api/v1/detectors/"+id, nil, nil); st != http.StatusNoContent {
			t.Fatalf("delete: %d", st)
		}
		if keys := models(id); len(keys) != 0 {
			t.Fatalf("%s after delete: model copies left in Redis: %v", alg, keys)
		}
		meta, _ := rdb.Keys(ctx, "*detector-meta:"+id).Result()
		if len(meta) != 0 {
			t.Fatalf("%s after delete: metadata left in Redis: %v", alg, meta)
		}
	}
}

// Ids that name no detector never reach Redis: a predict for a made-up id (megabytes long, or
// with a NUL) leaves no key behind (each used to leave a tag key as long as the id, forever).
func TestUnknownIDsLeaveNothingInRedis(t *testing.T) {
	rs := testsvc.StartRedis(t)
	e, _ := instance(t, testsvc.PostgresSchema(t, "unknownids"), rs.URL())
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(rs.Port())})
	defer rdb.Close()
	ctx := context.Background()
	// The cache creates one cache-wide key (its "all" generation) when its subscription comes
	// up, in the background, maybe after the first count: that key names no id, so it is not
	// counted.
	perID := func() []string {
		keys, err := rdb.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(keys, func(k string) bool { return strings.HasSuffix(k, ":cache:all") })
	}
	before := perID()
	for _, id := range []string{"nope", strings.Repeat("q", 1<<20), "a\x00b", "01a23b87-5fab-7bc0-bdd1-62489761fcd4x"} {
		js, _ := json.Marshal(id)
		var eb errorBody
		if st := e.do("POST", "/api/v1/detection/predict", `{"detector_id":`+string(js)+`,"data":[[1,2,3]]}`, &eb); st != 404 {
			t.Fatalf("predict for %.20q: %d %+v", id, st, eb)
		}
	}
	if after := perID(); len(after) != len(before) {
		t.Fatalf("Redis went from %d to %d keys: %.300v", len(before), len(after), after)
	}
}
