package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// env is a server under test over a real store, with an HTTP client.
type env struct {
	t    testing.TB
	srv  *Server
	http *httptest.Server
	st   store.Store
	key  string
}

type envOpts struct {
	dbPath string // SQLite file; a temporary one when empty
	cache  *cache.Cache
	key    string
	cfg    func(*Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	if o.dbPath == "" {
		o.dbPath = filepath.Join(t.TempDir(), "gonomaly.db")
	}
	st, err := sqlite.Open(ctx, "sqlite:"+o.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Cache: o.cache}
	if o.key != "" {
		cfg.APIKeyHashes = []string{HashAPIKey(o.key)}
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, http: httptest.NewServer(srv.Handler()), st: st, key: o.key}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.http == nil {
		return
	}
	e.http.Close()
	e.srv.Close()
	e.st.Close()
	e.http = nil
}

// do sends a request and decodes the JSON answer into out (when not nil); it returns the status.
func (e *env) do(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: answer %q is not the JSON expected: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func rows(n, d int, seed uint64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, d)
		for j := range out[i] {
			out[i][j] = r.NormFloat64()
		}
	}
	return out
}

// createAndTrain makes a fitted detector and returns its id.
func (e *env) createAndTrain(algorithm string, params map[string]any, train [][]float64) string {
	e.t.Helper()
	var d detectorView
	if st := e.do("POST", "/api/v1/detectors", map[string]any{"name": "t", "algorithm": algorithm, "parameters": params}, &d); st != http.StatusCreated {
		e.t.Fatalf("create: status %d", st)
	}
	var tr trainResponse
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": train}, &tr); st != http.StatusOK {
		e.t.Fatalf("train: status %d", st)
	}
	if tr.NSamples != len(train) || tr.Version <= d.Version {
		e.t.Fatalf("train answer %+v", tr)
	}
	return d.ID
}

// offline fits the same detector outside the service, for the expected scores.
func offline(t testing.TB, algorithm string, params map[string]any, train, test [][]float64) (*detector.Model, []float64) {
	t.Helper()
	m, err := detector.NewModel(algorithm, params, detector.DefaultContamination)
	if err != nil {
		t.Fatal(err)
	}
	X, _ := dataset.FromRows(train)
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	Q, _ := dataset.FromRows(test)
	s, err := m.Score(context.Background(), Q, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func TestTrainPredictMatchesTheDetector(t *testing.T) {
	e := newEnv(t, envOpts{})
	train, test := rows(500, 6, 1), rows(40, 6, 2)
	for _, alg := range []string{"isolation_forest", "local_outlier_factor", "one_class_svm", "knn", "hbos", "ecod"} {
		t.Run(alg, func(t *testing.T) {
			params := map[string]any{}
			if alg == "isolation_forest" {
				params["seed"] = 7
			}
			id := e.createAndTrain(alg, params, train)
			m, want := offline(t, alg, params, train, test)
			var got predictResponse
			if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &got); st != http.StatusOK {
				t.Fatalf("predict: status %d", st)
			}
			if got.Threshold != m.Threshold {
				t.Errorf("threshold %v, want %v", got.Threshold, m.Threshold)
			}
			for i := range want {
				if got.Scores[i] != want[i] || got.IsAnomaly[i] != (want[i] > m.Threshold) {
					t.Fatalf("row %d: score %v anomaly %v, want %v %v", i, got.Scores[i], got.IsAnomaly[i], want[i], want[i] > m.Threshold)
				}
			}
		})
	}
}

// Concurrent single-row predictions are coalesced into batches; each still gets exactly the
// score the whole batch gets in one request.
func TestMicroBatchingGivesTheUnbatchedScores(t *testing.T) {
	e := newEnv(t, envOpts{})
	train, test := rows(1000, 8, 3), rows(400, 8, 4)
	id := e.createAndTrain("isolation_forest", nil, train)
	var whole predictResponse
	if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &whole); st != 200 {
		t.Fatalf("status %d", st)
	}
	got := make([]float64, len(test))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, row := range test {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var p predictResponse
			if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": [][]float64{row}}, &p); st != 200 {
				t.Errorf("row %d: status %d", i, st)
				return
			}
			got[i] = p.Scores[0]
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] != whole.Scores[i] {
			t.Fatalf("row %d: single-row score %v, in one request %v", i, got[i], whole.Scores[i])
		}
	}
	// The batch histogram counted every single-row prediction.
	var buf bytes.Buffer
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	buf.WriteString(withoutInstance(rec.Body.String()))
	if !strings.Contains(buf.String(), fmt.Sprintf(`gonomaly_predict_batch_rows_sum{algorithm="isolation_forest"} %d`, len(test))) {
		t.Errorf("metrics do not count %d batched rows:\n%s", len(test), grep(buf.String(), "batch_rows"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestBadRequestsAreClear4xx(t *testing.T) {
	e := newEnv(t, envOpts{key: "k3y", cfg: func(c *Config) { c.MaxBodyBytes = 16384 }})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 5))
	var unfitted detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "knn"}, &unfitted)
	big := `{"detector_id":"` + id + `","data":[[` + strings.Repeat("1.0,", 5000) + `1.0]]}`
	tests := []struct {
		name, method, path, body string
		auth                     string // "" = the right key, "-" = none, else this key
		status                   int
		code                     string
		msg                      string // a part of the message
	}{
		{"malformed JSON", "POST", "/api/v1/detection/predict", `{"detector_id":`, "", 400, CodeBadRequest, "malformed JSON"},
		{"NaN", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","data":[[NaN,1,2]]}`, "", 400, CodeBadRequest, "NaN"},
		{"wrong type", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","data":[["a",1,2]]}`, "", 400, CodeBadRequest, "data"},
		{"data not rows", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","data":[1,2,3]}`, "", 400, CodeBadRequest, "data"},
		{"unknown field", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","rows":[[1,2,3]]}`, "", 400, CodeBadRequest, "rows"},
		{"wrong width", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","data":[[1,2]]}`, "", 400, CodeInvalidData, "trained on 3"},
		{"ragged rows", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","data":[[1,2,3],[1,2]]}`, "", 400, CodeInvalidData, "row 1"},
		{"no rows", "POST", "/api/v1/detection/predict", `{"detector_id":"` + id + `","data":[]}`, "", 400, CodeInvalidData, "no rows"},
		{"unknown detector", "POST", "/api/v1/detection/predict", `{"detector_id":"nope","data":[[1,2,3]]}`, "", 404, CodeNotFound, "nope"},
		{"unfitted detector", "POST", "/api/v1/detection/predict", `{"detector_id":"` + unfitted.ID + `","data":[[1,2,3]]}`, "", 409, CodeNotFitted, "not fitted"},
		{"body over the limit", "POST", "/api/v1/detection/predict", big, "", 413, CodeTooLarge, "16384"},
		{"missing key", "GET", "/api/v1/detectors", "", "-", 401, CodeUnauthorized, "missing API key"},
		{"wrong key", "GET", "/api/v1/detectors", "", "guess", 401, CodeUnauthorized, "invalid API key"},
		{"pprof needs the key", "GET", "/debug/pprof/", "", "-", 401, CodeUnauthorized, "missing"},
		{"unknown algorithm", "POST", "/api/v1/detectors", `{"algorithm":"magic"}`, "", 400, CodeInvalidParam, "isolation_forest"},
		{"parameter out of range", "POST", "/api/v1/detectors", `{"algorithm":"knn","parameters":{"n_neighbors":0}}`, "", 400, CodeInvalidParam, "n_neighbors"},
		{"unknown parameter", "POST", "/api/v1/detectors", `{"algorithm":"knn","parameters":{"k":3}}`, "", 400, CodeInvalidParam, "n_neighbors"},
		{"bad contamination", "POST", "/api/v1/detectors", `{"algorithm":"knn","contamination":0.9}`, "", 400, CodeInvalidParam, "contamination"},
		{"train without data", "POST", "/api/v1/detection/train", `{"detector_id":"` + id + `"}`, "", 400, CodeBadRequest, "exactly one"},
		{"train on too few rows", "POST", "/api/v1/detection/train", `{"detector_id":"` + unfitted.ID + `","data":[[1,2]]}`, "", 400, CodeInvalidData, "row"},
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404, CodeNotFound, "no route"},
		{"unknown job", "GET", "/api/v1/jobs/x", "", "", 404, CodeNotFound, "job x"},
		{"wrong content type", "POST", "/api/v1/detectors", `<xml/>`, "ct", 415, CodeUnsupported, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.http.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			switch tt.auth {
			case "":
				req.Header.Set("Authorization", "Bearer k3y")
			case "-":
			case "ct":
				req.Header.Set("Authorization", "Bearer k3y")
				req.Header.Set("Content-Type", "application/xml")
			default:
				req.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body errorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body is not a JSON error: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tt.status || body.Code != tt.code || !strings.Contains(body.Error, tt.msg) {
				t.Errorf("got %d %s %q, want %d %s containing %q", resp.StatusCode, body.Code, body.Error, tt.status, tt.code, tt.msg)
			}
		})
	}
	// The service is still up and answers.
	var p predictResponse
	if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": [][]float64{{1, 2, 3}}}, &p); st != 200 || len(p.Scores) != 1 {
		t.Fatalf("after the bad requests: status %d, %+v", st, p)
	}
}

// Restarting the service on the same database keeps detectors, models and results.
func TestRestartKeepsEverything(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keep.db")
	train, test := rows(300, 4, 6), rows(5, 4, 7)
	e := newEnv(t, envOpts{dbPath: db})
	id := e.createAndTrain("isolation_forest", map[string]any{"seed": 3}, train)
	var before predictResponse
	e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &before)
	e.close() // Close writes the results still queued

	e2 := newEnv(t, envOpts{dbPath: db})
	// Listed before the next prediction, whose result is written asynchronously.
	var res struct{ Results []resultView }
	e2.do("GET", "/api/v1/detection/results?detector_id="+id, nil, &res)
	if len(res.Results) != 1 || res.Results[0].NSamples != len(test) {
		t.Fatalf("results after restart: %+v, want the one from before", res.Results)
	}
	var after predictResponse
	if st := e2.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &after); st != 200 {
		t.Fatalf("predict after restart: status %d", st)
	}
	for i := range before.Scores {
		if before.Scores[i] != after.Scores[i] {
			t.Fatalf("row %d: %v before the restart, %v after", i, before.Scores[i], after.Scores[i])
		}
	}
}

// A train request longer than the wait answers 202 with a job; polling it gives the result.
func TestLongTrainingBecomesAJob(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainWait = time.Nanosecond }})
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "one_class_svm"}, &d)
	// A training job's result is a train answer.
	var j struct {
		jobView
		Result *trainResponse `json:"result"`
	}
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(3000, 5, 8)}, &j); st != http.StatusAccepted {
		t.Fatalf("status %d, want 202", st)
	}
	if j.Status != JobRunning || j.DetectorID != d.ID {
		t.Fatalf("job %+v", j)
	}
	// Until the job ends, the detector is not served half-trained.
	deadline := time.Now().Add(30 * time.Second)
	for j.Status == JobRunning {
		if time.Now().After(deadline) {
			t.Fatal("the job did not finish in 30 s")
		}
		var p predictResponse
		st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": d.ID, "data": [][]float64{{0, 0, 0, 0, 0}}}, &p)
		if st != 200 && st != http.StatusConflict {
			t.Fatalf("predict during training: status %d", st)
		}
		time.Sleep(20 * time.Millisecond)
		e.do("GET", "/api/v1/jobs/"+j.ID, nil, &j)
	}
	if j.Status != JobSucceeded || j.Result == nil || j.Result.NSamples != 3000 {
		t.Fatalf("finished job %+v", j)
	}
	var got detectorView
	e.do("GET", "/api/v1/detectors/"+d.ID, nil, &got)
	if !got.IsFitted || got.Version != j.Result.Version {
		t.Fatalf("detector after the job: %+v", got)
	}
}

// Retraining serves the new model at once and drops the old one from the cache.
func TestRetrainServesTheNewModel(t *testing.T) {
	e := newEnv(t, envOpts{})
	test := rows(10, 4, 9)
	id := e.createAndTrain("hbos", nil, rows(200, 4, 10))
	var first predictResponse
	e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &first)
	shifted := rows(200, 4, 11)
	for _, r := range shifted {
		for j := range r {
			r[j] += 3
		}
	}
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": id, "data": shifted}, nil); st != 200 {
		t.Fatalf("retrain: status %d", st)
	}
	_, want := offline(t, "hbos", nil, shifted, test)
	var second predictResponse
	e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &second)
	for i := range want {
		if second.Scores[i] != want[i] {
			t.Fatalf("row %d after retraining: %v, want the new model's %v (old %v)", i, second.Scores[i], want[i], first.Scores[i])
		}
	}
	if st := e.do("DELETE", "/api/v1/detectors/"+id, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: status %d", st)
	}
	if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, nil); st != 404 {
		t.Fatalf("predict after delete: status %d, want 404", st)
	}
}

func TestDatasetsUploadAndTrainFromThem(t *testing.T) {
	e := newEnv(t, envOpts{})
	var csv strings.Builder
	csv.WriteString("a,b,label\n")
	for i, r := range rows(200, 2, 12) {
		fmt.Fprintf(&csv, "%v,%v,%d\n", r[0], r[1], i%2)
	}
	req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/datasets?name=demo&label=label", strings.NewReader(csv.String()))
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ds datasetView
	json.NewDecoder(resp.Body).Decode(&ds)
	resp.Body.Close()
	if resp.StatusCode != 201 || ds.NSamples != 200 || ds.NFeatures != 2 {
		t.Fatalf("upload: status %d, %+v", resp.StatusCode, ds)
	}
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "ecod"}, &d)
	var tr trainResponse
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "dataset_id": ds.ID}, &tr); st != 200 || tr.NSamples != 200 || tr.NFeatures != 2 {
		t.Fatalf("train from dataset: status %d, %+v", st, tr)
	}
	// A bad CSV names its row and column.
	req, _ = http.NewRequest("POST", e.http.URL+"/api/v1/datasets", strings.NewReader("a,b\n1,2\n3,x\n"))
	req.Header.Set("Content-Type", "text/csv")
	resp, _ = http.DefaultClient.Do(req)
	var eb errorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != 400 || eb.Code != CodeInvalidData || !strings.Contains(eb.Error, "row 2") {
		t.Fatalf("bad CSV: %d %+v", resp.StatusCode, eb)
	}
}

// Shutting down finishes the requests in flight and stores every answered result.
func TestGracefulShutdownKeepsAnsweredResults(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.Open(ctx, "sqlite:"+db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(ctx, Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx, l) }()
	e := &env{t: t, http: &httptest.Server{URL: "http://" + l.Addr().String()}}
	id := e.createAndTrain("isolation_forest", nil, rows(300, 3, 13))

	var answered sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		answered.Add(1)
		go func() {
			defer answered.Done()
			for {
				body, _ := json.Marshal(map[string]any{"detector_id": id, "data": [][]float64{{1, 2, 3}}})
				resp, err := http.Post(e.http.URL+"/api/v1/detection/predict", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the server stopped accepting
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return
				}
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	answered.Wait()
	rs, err := st.ListResults(ctx, store.ResultFilter{DetectorID: id, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if ok == 0 || len(rs) != ok {
		t.Fatalf("%d predictions answered 200, %d results stored", ok, len(rs))
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	id := e.createAndTrain("hbos", nil, rows(50, 2, 14))
	e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": [][]float64{{1, 2}}}, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(e.http.URL + path) // no key: probes are open
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["status"] != "ok" {
			t.Errorf("%s: %d %v", path, resp.StatusCode, body)
		}
	}
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := withoutInstance(string(raw))
	for _, want := range []string{
		`gonomaly_http_requests_total{code="200",method="POST",route="POST /api/v1/detection/predict"} 1`,
		`gonomaly_http_request_duration_seconds_bucket{route="POST /api/v1/detection/train"`,
		`gonomaly_detector_fit_seconds_count{algorithm="hbos"} 1`,
		`gonomaly_detector_score_seconds_count{algorithm="hbos"} 1`,
		"gonomaly_cache_hit_ratio", "gonomaly_cache_l1_hits_total", "gonomaly_store_pool_in_use", "go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/debug/pprof/cmdline", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("pprof with the key: status %d", resp.StatusCode)
	}
}
