package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/cluster/clustertest"
	"github.com/gonomaly/gonomaly/serving"
)

// TestTrainOnClusterWorker: a service with a cluster hands training to a worker that runs fit
// jobs over the same store; the answer names the worker, and the service serves the model
// the worker saved, with the scores of a local fit. GET /api/v1/cluster lists the worker.
func TestTrainOnClusterWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn, _ := clustertest.New(t, cluster.Options{AckWait: 2 * time.Second})
	e := newEnv(t, envOpts{key: "k", cfg: func(c *Config) { c.Cluster = conn }})

	// The worker: its own cache and serving protocol over the service's store.
	wc, err := cache.New(ctx, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wsvc := serving.New(e.st, wc, serving.Options{})
	defer wsvc.Close()
	w := &cluster.Worker{Conn: conn, Name: "fitter", Log: slog.New(slog.DiscardHandler),
		Handlers: map[string]cluster.Handler{cluster.KindFit: cluster.FitHandler(conn, e.st, wsvc)}}
	wctx, wcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(wctx) })
	defer func() { wcancel(); wg.Wait() }()

	var st cluster.Status
	for {
		if code := e.do("GET", "/api/v1/cluster", nil, &st); code != http.StatusOK {
			t.Fatalf("GET /api/v1/cluster: %d", code)
		}
		if len(st.Workers) == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the worker never showed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Workers[0].Name != "fitter" || st.Name != conn.Name() {
		t.Fatalf("cluster status %+v", st)
	}

	train, test := rows(300, 3, 1), rows(20, 3, 2)
	params := map[string]any{"seed": 5}
	var d detectorView
	if code := e.do("POST", "/api/v1/detectors", map[string]any{"name": "c", "algorithm": "isolation_forest", "parameters": params}, &d); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var tr trainResponse
	if code := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": train}, &tr); code != http.StatusOK {
		t.Fatalf("train: %d", code)
	}
	if tr.Worker != "fitter" || tr.Version != d.Version+1 || tr.NSamples != 300 {
		t.Fatalf("train answer %+v: want fitted by the worker", tr)
	}
	_, want := offline(t, "isolation_forest", params, train, test)
	var pr predictResponse
	if code := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": d.ID, "data": test}, &pr); code != http.StatusOK {
		t.Fatalf("predict: %d", code)
	}
	for i := range want {
		if pr.Scores[i] != want[i] {
			t.Fatalf("row %d: %v, local fit %v", i, pr.Scores[i], want[i])
		}
	}
	if pr.Threshold != tr.Threshold {
		t.Fatalf("threshold %v served, %v answered by train", pr.Threshold, tr.Threshold)
	}
}

// TestClusterEndpointWithoutCluster: a service without --nats answers 404 saying so, and the
// endpoint needs the API key like the rest of the API.
func TestClusterEndpointWithoutCluster(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	var eb errorBody
	if code := e.do("GET", "/api/v1/cluster", nil, &eb); code != http.StatusNotFound || eb.Code != CodeNotFound || !strings.Contains(eb.Error, "--nats") {
		t.Fatalf("status %d, %+v", code, eb)
	}
	e.key = ""
	if code := e.do("GET", "/api/v1/cluster", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", code)
	}
}
