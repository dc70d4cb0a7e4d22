package server

import (
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The admin endpoint: refused (403) on a service without API keys, 401 without the key,
// settings read and changed (partly) with it, every bad value a 400 that changes nothing.
func TestAdminTuning(t *testing.T) {
	open := newEnv(t, envOpts{})
	for _, m := range []string{"GET", "PUT"} {
		var eb errorBody
		if code := open.do(m, tuningPath, `{"batch_max":8}`, &eb); code != http.StatusForbidden || eb.Code != CodeForbidden {
			t.Errorf("%s on a service without keys: %d %+v, want 403 forbidden", m, code, eb)
		}
	}
	if got := open.srv.serving.Batch(); got.MaxBatch != 256 {
		t.Errorf("the refused PUT changed the settings: %+v", got)
	}

	e := newEnv(t, envOpts{key: "k1"})
	req, _ := http.NewRequest("PUT", e.http.URL+tuningPath, strings.NewReader(`{"batch_max":8}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("PUT without the key: %d, want 401", resp.StatusCode)
	}

	var got tuning
	if code := e.do("GET", tuningPath, nil, &got); code != 200 || got.BatchMax != 256 || got.BatchWait != "0s" ||
		got.Workers != runtime.GOMAXPROCS(0) || got.Queue != 64*256 || got.Previous != nil {
		t.Fatalf("GET: %d %+v", code, got)
	}
	if code := e.do("PUT", tuningPath, `{"batch_max":32,"batch_wait":"2ms","workers":3}`, &got); code != 200 ||
		got.BatchMax != 32 || got.BatchWait != "2ms" || got.Workers != 3 || got.Queue != 64*32 ||
		got.Previous == nil || got.Previous.BatchMax != 256 {
		t.Fatalf("PUT: %d %+v", code, got)
	}
	// A partial update keeps the other fields.
	if code := e.do("PUT", tuningPath, `{"workers":1}`, &got); code != 200 || got.BatchMax != 32 || got.BatchWait != "2ms" || got.Workers != 1 {
		t.Fatalf("partial PUT: %d %+v", code, got)
	}
	for _, c := range []struct{ body, code, words string }{
		{`{}`, CodeBadRequest, "nothing to change"},
		{`{"batch_max":0}`, CodeInvalidParam, "batch_max 0"},
		{`{"batch_max":65537}`, CodeInvalidParam, "from 1 to 65536"},
		{`{"batch_max":1e3}`, CodeBadRequest, "batch_max"},
		{`{"batch_max":"8"}`, CodeBadRequest, "batch_max"},
		{`{"batch_wait":"2"}`, CodeInvalidParam, "not a duration"},
		{`{"batch_wait":2}`, CodeBadRequest, "batch_wait"},
		{`{"batch_wait":"-1ms"}`, CodeInvalidParam, "from 0 to 1s"},
		{`{"batch_wait":"2s"}`, CodeInvalidParam, "from 0 to 1s"},
		{`{"workers":0}`, CodeInvalidParam, "workers 0"},
		{`{"workers":257}`, CodeInvalidParam, "from 1 to 256"},
		{`{"queue":5}`, CodeBadRequest, "queue"},
		{`{"workers":2}{}`, CodeBadRequest, "more than one"},
		{`[]`, CodeBadRequest, "object"},
		{`{"batch_wait":"` + strings.Repeat("9", 5000) + `"}`, CodeInvalidParam, "more bytes"},
	} {
		var eb errorBody
		if code := e.do("PUT", tuningPath, c.body, &eb); code != http.StatusBadRequest || eb.Code != c.code || !strings.Contains(eb.Error, c.words) {
			t.Errorf("PUT %.60s: %d %+v, want 400 %s saying %q", c.body, code, eb, c.code, c.words)
		}
		if len(eb.Error) > 300 {
			t.Errorf("PUT %.60s: a %d-byte message", c.body, len(eb.Error))
		}
	}
	if code := e.do("GET", tuningPath, nil, &got); code != 200 || got.BatchMax != 32 || got.BatchWait != "2ms" || got.Workers != 1 {
		t.Fatalf("after the refused PUTs: %d %+v", code, got)
	}
}

// Retuning while clients predict: no prediction fails.
func TestAdminTuningUnderLoad(t *testing.T) {
	e := newEnv(t, envOpts{key: "k1"})
	id := e.createAndTrain("hbos", nil, rows(300, 3, 1))
	row := rows(1, 3, 2)
	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		failed atomic.Int64
		done   atomic.Int64
	)
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				var p predictResponse
				if code := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": row}, &p); code != 200 || len(p.Scores) != 1 {
					failed.Add(1)
					return
				}
				done.Add(1)
			}
		})
	}
	for i, body := range []string{`{"batch_max":1,"workers":1}`, `{"batch_max":64,"batch_wait":"1ms"}`, `{"workers":4}`, `{"batch_wait":"0s"}`, `{"batch_max":256,"workers":2}`} {
		for n := done.Load(); done.Load() < n+20 && failed.Load() == 0; {
			runtime.Gosched()
		}
		var got tuning
		if code := e.do("PUT", tuningPath, body, &got); code != 200 {
			t.Fatalf("PUT %d %s: %d", i, body, code)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d predictions failed while the settings changed (%d succeeded)", failed.Load(), done.Load())
	}
}
