package server

// The fault and abuse suite of the service (docs/reliability.md): each test tries one class
// of hostile input or fault, in several variants, and checks that the service answers it
// with a clean 4xx/503, loses no other client's data, and keeps serving.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/gonomaly/gonomaly/store"
)

// raw sends req (a whole HTTP/1.1 request, headers and as much body as given) on a new
// connection and returns the status line and headers of the answer, and how long it took.
func raw(t *testing.T, addr, req string) (status string, closed bool, took time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	resp.Body.Close()
	return resp.Status, resp.Close, time.Since(start)
}

// send sends a request with the given content type (and encoding, when not empty) and decodes
// a JSON answer into out; it returns the status and the answer's headers.
func (e *env) send(method, path, contentType, encoding string, body []byte, out any) (int, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, resp.Header
}

func addr(e *env) string { return strings.TrimPrefix(e.http.URL, "http://") }

// wantError checks a JSON error answer.
func (e *env) wantError(method, path string, body any, status int, code, part string) errorBody {
	e.t.Helper()
	var eb errorBody
	st := e.do(method, path, body, &eb)
	if st != status || eb.Code != code || !strings.Contains(eb.Error, part) {
		e.t.Errorf("%s %s: got %d %s %q, want %d %s containing %q", method, path, st, eb.Code, eb.Error, status, code, part)
	}
	return eb
}

// Defect class 5: a JSON null (or any non-number) in a data row is refused with the row and
// column named, for predict and train, wherever it stands; it was read as 0 and scored.
func TestNullAndNonNumbersInRowsAreRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.createAndTrain("knn", nil, rows(50, 3, 1))
	var fresh detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "hbos"}, &fresh)
	for _, tc := range []struct {
		data, where string
	}{
		{`[[null,1,2]]`, "row 0, column 0"},
		{`[[1,2,null]]`, "row 0, column 2"},
		{`[[1,2,3],[4,null,6]]`, "row 1, column 1"},
		{`[[1,2,3],[4,5,6],[7,8,"9"]]`, "row 2, column 2"},
		{`[[1,true,3]]`, "row 0, column 1"},
		{`[[1,{},3]]`, "row 0, column 1"},
		{`[[1,[2],3]]`, "row 0, column 1"},
		{`[null]`, "row 0"},
		{`[[1,2,3],null]`, "row 1"},
		{`{"a":1}`, "array of rows"},
		{`"rows"`, "array of rows"},
	} {
		for _, ep := range []struct{ path, id string }{
			{"/api/v1/detection/predict", id},
			{"/api/v1/detection/train", fresh.ID},
		} {
			body := `{"detector_id":"` + ep.id + `","data":` + tc.data + `}`
			eb := e.wantError("POST", ep.path, body, 400, CodeBadRequest, tc.where)
			if strings.Contains(eb.Error, "server:") || strings.Contains(eb.Error, "json:") {
				t.Errorf("%s %s: message shows internals: %q", ep.path, tc.data, eb.Error)
			}
		}
	}
	// No result was stored for the refused predictions.
	rs, _ := e.st.ListResults(context.Background(), store.ResultFilter{DetectorID: id})
	if len(rs) != 0 {
		t.Fatalf("%d results stored for refused predictions", len(rs))
	}
	var d detectorView
	e.do("GET", "/api/v1/detectors/"+fresh.ID, nil, &d)
	if d.IsFitted {
		t.Fatal("a detector was trained on rows with nulls")
	}
}

// The rows decoder gives the numbers encoding/json gives, on every shape and spelling.
func TestJSONRowsDecodeLikeEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`[[1,2,3]]`, `[ [ 1 , 2 ] , [ 3 , 4 ] ]`, "[\n[-0.5e-3,\t1E+2]\r\n]", `[[0]]`, `[]`, `[[]]`, `[[],[]]`,
		`[[1.7976931348623157e308,-1.7976931348623157e308,5e-324]]`, `[[123456789012345678901234567890]]`,
	} {
		var want [][]float64
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		var got jsonRows
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.m.Rows != len(want) {
			t.Fatalf("%s: %d rows, want %d", in, got.m.Rows, len(want))
		}
		for i, r := range want {
			if got.m.Cols != len(r) {
				t.Fatalf("%s: %d cols, want %d", in, got.m.Cols, len(r))
			}
			for j, v := range r {
				if got.m.At(i, j) != v {
					t.Fatalf("%s: (%d,%d) = %v, want %v", in, i, j, got.m.At(i, j), v)
				}
			}
		}
	}
	var out jsonRows
	for _, in := range []string{`[[1e999]]`, `[[-1e400]]`} {
		err := json.Unmarshal([]byte(in), &out)
		if re, ok := err.(*rowsError); !ok || !strings.Contains(re.msg, "range") {
			t.Errorf("%s: %v, want an out-of-range error", in, err)
		}
	}
}

// Defect class 4: a client trickling its body is cut off at the body read time (408 or a
// closed connection), well before the request timeout; the service goes on answering.
func TestSlowBodyIsCutOff(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.BodyReadTimeout = 500 * time.Millisecond; c.RequestTimeout = time.Minute }})
	id := e.createAndTrain("hbos", nil, rows(50, 3, 2))
	for _, path := range []string{"/api/v1/detection/predict", "/api/v1/detection/train", "/api/v1/datasets", "/api/v1/detectors"} {
		t.Run(path, func(t *testing.T) {
			c, err := net.Dial("tcp", addr(e))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			body := `{"detector_id":"` + id + `","data":[[1,2,3]]}`
			ct := "application/json"
			if path == "/api/v1/datasets" {
				ct, body = "text/csv", "a,b,c\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n13,14,15\n"
			}
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, ct, len(body))
			start := time.Now()
			// One byte every 100 ms: the whole body would take over 3 s.
			go func() {
				for i := range len(body) {
					if _, err := c.Write([]byte{body[i]}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			took := time.Since(start)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestTimeout {
					t.Errorf("status %d, want 408", resp.StatusCode)
				}
			}
			if took > 2*time.Second {
				t.Errorf("the trickling client held the request %v; the body read time is 500 ms", took)
			}
		})
	}
	e.predictOK(id, [][]float64{{1, 2, 3}})
}

// A body read to its end in time keeps the request alive past the body read time: only the
// reading is bounded, not the work (a train waits up to TrainWait).
func TestBodyReadTimeDoesNotCancelTheWork(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.BodyReadTimeout = time.Second; c.TrainWait = 30 * time.Second }})
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "one_class_svm"}, &d)
	var tr trainResponse
	start := time.Now()
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(4000, 5, 3)}, &tr); st != 200 {
		t.Fatalf("train: status %d", st)
	}
	if time.Since(start) < time.Second {
		t.Skip("the fit was faster than the body read time; nothing shown")
	}
	if tr.NSamples != 4000 {
		t.Fatalf("train answer %+v", tr)
	}
}

// Defect class 4: a request without a valid key is refused at once, its body unread, and its
// connection closed: the server neither waits for nor drains a body it will not use.
func TestUnauthenticatedIsRefusedBeforeTheBody(t *testing.T) {
	e := newEnv(t, envOpts{key: "s3cret"})
	for _, tc := range []struct{ name, auth string }{
		{"no key", ""},
		{"wrong key", "Authorization: Bearer guess\r\n"},
		{"not bearer", "Authorization: Basic czNjcmV0\r\n"},
	} {
		for _, path := range []string{"/api/v1/detection/predict", "/api/v1/datasets", "/api/v1/detection/train"} {
			// Headers promise 100 MB that never come.
			req := "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + tc.auth + "Content-Length: 100000000\r\n\r\n{\"a\":"
			status, closed, took := raw(t, addr(e), req)
			if !strings.HasPrefix(status, "401") || !closed || took > time.Second {
				t.Errorf("%s %s: %s, connection closed %v, after %v; want 401, close, at once", tc.name, path, status, closed, took)
			}
		}
	}
}

// A body declared larger than the limit is refused at once, before any of it is sent (it
// used to wait for the body read time and answer 408).
func TestOversizedDeclaredBodyIsRefusedAtOnce(t *testing.T) {
	e := newEnv(t, envOpts{key: "k"})
	status, closed, took := raw(t, addr(e), "POST /api/v1/detection/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 1073741824\r\n\r\n")
	if !strings.HasPrefix(status, "413") || !closed || took > time.Second {
		t.Fatalf("%s, closed %v, after %v; want 413 at once, connection closed", status, closed, took)
	}
}

// Defect class 3: past MaxInFlight requests (or MaxInFlightBytes of bodies), the service
// answers 503 with Retry-After at once instead of holding more; health and metrics still
// answer; when the load goes, requests are served again.
func TestInFlightLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		bytes int // declared body length of the held requests
	}{
		{"requests", func(c *Config) { c.MaxInFlight = 2 }, 100},
		{"bytes", func(c *Config) { c.MaxBodyBytes = 8000; c.MaxInFlightBytes = 8050 }, 8000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: func(c *Config) { c.BodyReadTimeout = 5 * time.Second; tc.cfg(c) }})
			id := e.createAndTrain("hbos", nil, rows(50, 3, 4))
			// Hold requests open by sending headers and half a body.
			held := 2
			if tc.name == "bytes" {
				held = 1
			}
			var conns []net.Conn
			for range held {
				c, err := net.Dial("tcp", addr(e))
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				fmt.Fprintf(c, "POST /api/v1/detection/predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{", tc.bytes)
			}
			waitFor(t, "the held requests to be admitted", func() bool {
				return len(e.srv.inflight) == held
			})
			var eb errorBody
			code, hdr := e.send("POST", "/api/v1/detection/predict", "application/json", "", []byte(`{"detector_id":"`+id+`","data":[[1,2,3]]}`), &eb)
			if code != 503 || hdr.Get("Retry-After") == "" || eb.Code != CodeUnavailable {
				t.Errorf("over the limit: %d %s Retry-After %q, want 503 unavailable with Retry-After", code, eb.Code, hdr.Get("Retry-After"))
			}
			if st := e.do("GET", "/healthz", nil, nil); st != 200 {
				t.Errorf("healthz at the limit: %d", st)
			}
			if st := e.do("GET", "/metrics", nil, nil); st != 200 {
				t.Errorf("metrics at the limit: %d", st)
			}
			for _, c := range conns {
				c.Close()
			}
			waitFor(t, "the held requests to end", func() bool { return len(e.srv.inflight) == 0 && e.srv.inflightBytes.Load() == 0 })
			e.predictOK(id, [][]float64{{1, 2, 3}})
		})
	}
}

// Defect class 3: at most MaxQueuedJobs trainings wait or run; one more is 429 with
// Retry-After, and a slot frees when a job ends.
func TestQueuedJobsAreBounded(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxQueuedJobs = 2; c.TrainConcurrency = 1; c.TrainWait = time.Nanosecond }})
	data := rows(3000, 5, 5)
	var ids []string
	for range 3 {
		var d detectorView
		e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "one_class_svm"}, &d)
		ids = append(ids, d.ID)
	}
	var jobsStarted []jobView
	for _, id := range ids[:2] {
		var j jobView
		if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": id, "data": data, "async": true}, &j); st != 202 {
			t.Fatalf("train %d: status %d", len(jobsStarted), st)
		}
		jobsStarted = append(jobsStarted, j)
	}
	var eb errorBody
	code, hdr := e.send("POST", "/api/v1/detection/train", "application/json", "", []byte(`{"detector_id":"`+ids[2]+`","data":[[1,2],[3,4],[5,6]],"async":true}`), &eb)
	if code != http.StatusTooManyRequests || eb.Code != CodeTooManyJobs || hdr.Get("Retry-After") == "" {
		t.Fatalf("third job: %d %s %q Retry-After %q, want 429 too_many_jobs", code, eb.Code, eb.Error, hdr.Get("Retry-After"))
	}
	for _, j := range jobsStarted {
		waitFor(t, "the jobs to end", func() bool {
			var v jobView
			e.do("GET", "/api/v1/jobs/"+j.ID, nil, &v)
			return v.Status != JobRunning
		})
	}
	var j jobView
	if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": ids[2], "data": rows(100, 2, 6), "async": true}, &j); st != 202 {
		t.Fatalf("after the jobs ended: status %d", st)
	}
}

// Defect class 3: deleting a detector stops its queued and running trainings at once; the
// job fails saying why, and no model is saved for the deleted detector.
func TestDeletingADetectorCancelsItsJobs(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainConcurrency = 1; c.TrainWait = time.Nanosecond }})
	var running, queued detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "one_class_svm", "parameters": map[string]any{"tol": 1e-6}}, &running)
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "one_class_svm"}, &queued)
	data := rows(6000, 8, 7)
	var jr, jq jobView
	e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": running.ID, "data": data, "async": true}, &jr)
	e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": queued.ID, "data": data, "async": true}, &jq)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	for _, d := range []detectorView{running, queued} {
		if st := e.do("DELETE", "/api/v1/detectors/"+d.ID, nil, nil); st != http.StatusNoContent {
			t.Fatalf("delete: %d", st)
		}
	}
	for _, j := range []jobView{jr, jq} {
		var v jobView
		waitFor(t, "the deleted detector's job to end", func() bool {
			e.do("GET", "/api/v1/jobs/"+j.ID, nil, &v)
			return v.Status != JobRunning
		})
		if v.Status != JobFailed || v.Error == nil || v.Error.Code != CodeConflict || !strings.Contains(v.Error.Error, "deleted") {
			t.Errorf("job of a deleted detector: %+v (error %+v)", v, v.Error)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the cancelled fit ran on for %v", took)
	}
}

// Defect class 2: deleting detectors while predictions for them are in flight loses none of
// the other detectors' results (it lost 460 of 6000 when one bad row failed the whole batch).
func TestDeleteUnderLoadLosesNoOtherResults(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		deleteUnderLoad(t, newEnv(t, envOpts{}))
	})
	t.Run("postgres", func(t *testing.T) {
		e, _ := instance(t, testsvc.PostgresSchema(t, "reliability"), "")
		deleteUnderLoad(t, e)
	})
}

func deleteUnderLoad(t *testing.T, e *env) {
	algorithms := []string{"isolation_forest", "hbos", "knn", "ecod"}
	var keep, doomed []string
	for i, a := range algorithms {
		keep = append(keep, e.createAndTrain(a, nil, rows(200, 3, uint64(10+i))))
		doomed = append(doomed, e.createAndTrain(a, nil, rows(200, 3, uint64(20+i))))
	}
	var ok sync.Map // detector id -> *atomic.Int64 of 200 answers
	for _, id := range append(append([]string{}, keep...), doomed...) {
		ok.Store(id, new(atomic.Int64))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := append(append([]string{}, keep...), doomed...)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[(w+i)%len(ids)]
				n := 1 + (i % 3) // single rows (micro-batched) and small batches
				body, _ := json.Marshal(map[string]any{"detector_id": id, "data": rows(n, 3, uint64(i))})
				resp, err := client.Post(e.http.URL+"/api/v1/detection/predict", "application/json", bytes.NewReader(body))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					c, _ := ok.Load(id)
					c.(*atomic.Int64).Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	for _, id := range doomed {
		if st := e.do("DELETE", "/api/v1/detectors/"+id, nil, nil); st != http.StatusNoContent {
			t.Fatalf("delete: %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	e.srv.results.Close() // every accepted result written
	total := 0
	for _, id := range keep {
		c, _ := ok.Load(id)
		want := int(c.(*atomic.Int64).Load())
		rs, err := e.st.ListResults(context.Background(), store.ResultFilter{DetectorID: id, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != want {
			t.Errorf("detector %s: %d predictions answered 200, %d results stored", id, want, len(rs))
		}
		total += want
	}
	if total < 100 {
		t.Fatalf("only %d predictions answered: the load did not run", total)
	}
	t.Logf("%d predictions of the kept detectors answered", total)
}

// Defect class 6: a gzip-compressed body is accepted (datasets and JSON); a body that is not
// gzip is a clear 400, another encoding 415; a gzip bomb stops at the body limit.
func TestCompressedBodies(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxBodyBytes = 1 << 20 }})
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	post := func(path, ct, enc string, body []byte) (int, errorBody, map[string]any) {
		var eb errorBody
		var m map[string]any
		code, _ := e.send("POST", path, ct, enc, body, &m)
		raw, _ := json.Marshal(m)
		_ = json.Unmarshal(raw, &eb)
		return code, eb, m
	}
	csv := []byte("a,b,label\n1,2,0\n3,4,1\n5,6,0\n")
	if st, eb, m := post("/api/v1/datasets?label=label", "text/csv", "gzip", gz(csv)); st != 201 || m["n_samples"] != 3.0 {
		t.Errorf("gzip CSV: %d %+v %v", st, eb, m)
	}
	if st, eb, _ := post("/api/v1/detectors", "application/json", "gzip", gz([]byte(`{"algorithm":"hbos"}`))); st != 201 {
		t.Errorf("gzip JSON: %d %+v", st, eb)
	}
	if st, eb, _ := post("/api/v1/datasets", "text/csv", "gzip", csv); st != 400 || !strings.Contains(eb.Error, "gzip") {
		t.Errorf("not gzip: %d %+v", st, eb)
	}
	bad := gz([]byte(`{"algorithm":"hbos"}`))
	bad[len(bad)-8] ^= 0xff // the CRC of the trailer
	if st, eb, _ := post("/api/v1/detectors", "application/json", "gzip", bad); st != 400 || !strings.Contains(eb.Error, "gzip") {
		t.Errorf("gzip with a bad CRC: %d %+v", st, eb)
	}
	if st, eb, _ := post("/api/v1/datasets", "text/csv", "br", csv); st != 415 || eb.Code != CodeUnsupported {
		t.Errorf("brotli: %d %+v", st, eb)
	}
	bomb := gz(bytes.Repeat([]byte("1,"), 8<<20)) // 16 MiB of CSV in a few KiB
	if st, eb, _ := post("/api/v1/datasets", "text/csv", "gzip", bomb); st != 413 || eb.Code != CodeTooLarge {
		t.Errorf("gzip bomb: %d %+v", st, eb)
	}
}

// Defect class 6: a wrong method on a known path is 405 with Allow; an unknown path 404.
func TestWrongMethodIs405(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/api/v1/detection/predict", "POST"},
		{"PUT", "/api/v1/detectors", "GET, HEAD, POST"},
		{"POST", "/api/v1/detectors/abc", "GET, HEAD, DELETE"},
		{"DELETE", "/api/v1/datasets", "GET, HEAD, POST"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, e.http.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb errorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != tc.allow || eb.Code != CodeMethodNotAllowed {
			t.Errorf("%s %s: %d Allow %q %+v, want 405 Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), eb, tc.allow)
		}
	}
	e.wantError("GET", "/api/v2/nothing", nil, 404, CodeNotFound, "no route")
}

// Defect class 6: an error about a huge input quotes at most a bounded part of it, and shows
// no package names of ours.
func TestErrorsAreShortAndPlain(t *testing.T) {
	e := newEnv(t, envOpts{})
	huge := strings.Repeat("x", 1<<20)
	for _, body := range []string{
		`{"algorithm":"` + huge + `"}`,
		`{"algorithm":"knn","parameters":{"n_neighbors":"` + huge + `"}}`,
		`{"algorithm":"knn","parameters":{"` + huge + `":1}}`,
	} {
		var eb errorBody
		st := e.do("POST", "/api/v1/detectors", body, &eb)
		if st != 400 || len(eb.Error) > maxErrorText || eb.Error == "" {
			t.Errorf("status %d, message of %d bytes", st, len(eb.Error))
		}
		for _, layer := range []string{"detector:", "store:", "dataset:", "server:"} {
			if strings.Contains(eb.Error, layer) {
				t.Errorf("message shows %q: %.200s", layer, eb.Error)
			}
		}
	}
	var eb errorBody
	code, _ := e.send("POST", "/api/v1/datasets", "text/csv", "", []byte("a,b\n1,"+huge+"\n"), &eb)
	if code != 400 || eb.Code != CodeInvalidData || !strings.Contains(eb.Error, "row 1") || len(eb.Error) > maxErrorText {
		t.Errorf("huge CSV cell: %d %s, message of %d bytes: %.300s", code, eb.Code, len(eb.Error), eb.Error)
	}
}

// Messages name what is wrong in the client's terms: no Go type names, no package prefixes
// of the standard library, no cache keys; a malformed query string is 400, not ignored.
func TestMessagesSpeakTheClientsTerms(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, want         string
	}{
		{"POST", "/api/v1/detection/predict", `[]`, 400, CodeBadRequest, "want a JSON object"},
		{"POST", "/api/v1/detection/predict", `{"zz":1}`, 400, CodeBadRequest, `unknown field "zz"`},
		{"POST", "/api/v1/detection/predict", `{"detector_id":5}`, 400, CodeBadRequest, "want a string"},
		{"POST", "/api/v1/detection/predict", `{"detector_id":"nope","data":[[1]]}`, 404, CodeNotFound, `detector "nope": not found`},
		{"POST", "/api/v1/detectors", `{"algorithm":"hbos","parameters":{"n_bins":null}}`, 400, CodeInvalidParam, "n_bins=null"},
		{"POST", "/api/v1/detectors", `{"algorithm":"isolation_forest","parameters":{"max_samples":1e15}}`, 400, CodeInvalidParam, "max_samples"},
		{"GET", "/api/v1/detectors?limit=%zz", "", 400, CodeBadRequest, "query string"},
		{"GET", "/api/v1/detectors?algorithm=%00", "", 400, CodeBadRequest, "query parameter"},
		{"GET", "/api/v1/detection/results?detector_id=%ff", "", 400, CodeBadRequest, "query parameter"},
	} {
		eb := e.wantError(tc.method, tc.path, tc.body, tc.status, tc.code, tc.want)
		for _, leak := range []string{"server.", "json:", "http:", "detector-meta", "model:", "<nil>", "iforest:", "MaxSamples"} {
			if strings.Contains(eb.Error, leak) {
				t.Errorf("%s %s: message shows %q: %s", tc.method, tc.path, leak, eb.Error)
			}
		}
	}
}

// Defect class 5: an error the service did not foresee is a 500 that says only "internal
// error": no driver or library text reaches the client (it is logged).
func TestInternalErrorsLeakNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.createAndTrain("hbos", nil, rows(50, 3, 8))
	e.st.Close() // every store call now fails with the driver's "database is closed"
	for _, path := range []string{"/api/v1/detectors", "/api/v1/detectors/" + id, "/api/v1/datasets", "/api/v1/detection/results"} {
		var eb errorBody
		st := e.do("GET", path, nil, &eb)
		if st != 500 || eb.Code != CodeInternal || eb.Error != "internal error" {
			t.Errorf("GET %s: %d %+v, want 500 with only \"internal error\"", path, st, eb)
		}
	}
}

// Defect class 7: concurrent predictions of a model version that is not yet in memory
// decode it once.
func TestConcurrentFirstPredictsDecodeOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.createAndTrain("isolation_forest", map[string]any{"n_estimators": 300}, rows(2000, 8, 9))
	e.srv.serving.Forget(context.Background(), id, 0) // as after a restart: the model is in the store only
	before := e.srv.serving.Decoded()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.predictOK(id, rows(1, 8, 1))
		}()
	}
	wg.Wait()
	if n := e.srv.serving.Decoded() - before; n != 1 {
		t.Fatalf("the model was decoded %d times for 16 concurrent first predictions, want 1", n)
	}
}

// A panic inside a training fails that job alone (500), and one inside scoring fails that
// request alone; the process and every other detector go on.
func TestPanicsFailOneJobOrRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	good := e.createAndTrain("hbos", nil, rows(50, 3, 10))
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": panicAlgorithm, "parameters": map[string]any{"where": "fit"}}, &d)
	eb := e.wantError("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(20, 3, 1)}, 500, CodeInternal, "internal error")
	if strings.Contains(eb.Error, "boom") {
		t.Errorf("the panic's value reached the client: %q", eb.Error)
	}
	var s detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": panicAlgorithm, "parameters": map[string]any{"where": "score"}}, &s)
	var tr trainResponse
	// A panicking Score fails the fit too (it scores the training rows): train with "never"
	// and make the stored detector panic from then on is not possible through the API, so the
	// score panic is shown through the fit.
	e.wantError("POST", "/api/v1/detection/train", map[string]any{"detector_id": s.ID, "data": rows(20, 3, 1)}, 500, CodeInternal, "internal error")
	_ = tr
	e.predictOK(good, [][]float64{{1, 2, 3}})
	e.predictOK(good, rows(5, 3, 2))
}

// panicAlgorithm is a test-only detector that panics where its "where" parameter says:
// in Fit, in Score, or never.
const panicAlgorithm = "test_panic"

type panicDetector struct{ where string }

func (p *panicDetector) Fit(context.Context, *dataset.Matrix) error {
	if p.where == "fit" {
		panic("boom in fit")
	}
	return nil
}

func (p *panicDetector) Score(_ context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if p.where == "score" {
		panic("boom in score")
	}
	if len(dst) != X.Rows {
		dst = make([]float64, X.Rows)
	}
	return dst, nil
}

func init() {
	detector.Register(detector.Algorithm{
		Name: panicAlgorithm, Summary: "test only: panics",
		Params: []detector.ParamSpec{{Name: "where", Kind: detector.Choice, Default: "never", Choices: []string{"never", "fit", "score"}}},
		New: func(p detector.Params) (detector.Detector, error) {
			return &panicDetector{where: p.String("where")}, nil
		},
	})
}

// Defect class 5: NUL bytes, invalid UTF-8, SQL-looking text and huge strings in names, ids
// and query parameters are 4xx on both stores (a NUL gave 500 with the driver's message on
// PostgreSQL), and no answer carries a driver's words.
func TestHostileTextAndIDs(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { hostileText(t, newEnv(t, envOpts{})) })
	t.Run("postgres", func(t *testing.T) {
		e, _ := instance(t, testsvc.PostgresSchema(t, "hostile"), "")
		hostileText(t, e)
	})
}

func hostileText(t *testing.T, e *env) {
	id := e.createAndTrain("hbos", nil, rows(50, 3, 3))
	bad := []string{"a\x00b", "\xff\xfe", "x'); DROP TABLE detectors; --", strings.Repeat("n", 100_000), "%00", "../../etc/passwd"}
	check := func(what string, st int, eb errorBody) {
		t.Helper()
		if st < 400 || st >= 500 || eb.Code == "" {
			t.Errorf("%s: status %d %+v, want a 4xx JSON error", what, st, eb)
		}
		for _, leak := range []string{"SQLSTATE", "pgx", "sqlite", "SQL logic", "invalid byte sequence", "ERROR:"} {
			if strings.Contains(eb.Error, leak) {
				t.Errorf("%s: message shows the driver (%q): %.200s", what, leak, eb.Error)
			}
		}
	}
	for _, s := range bad {
		js, _ := json.Marshal(s) // JSON escapes NUL and replaces invalid UTF-8
		var eb errorBody
		st := e.do("POST", "/api/v1/detectors", `{"algorithm":"hbos","name":`+string(js)+`}`, &eb)
		if st != 201 {
			check("create with name "+truncate(string(js), 40), st, eb)
		}
		esc := url.PathEscape(s)
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/v1/detectors/" + esc},
			{"DELETE", "/api/v1/detectors/" + esc},
			{"GET", "/api/v1/datasets/" + esc},
			{"GET", "/api/v1/jobs/" + esc},
		} {
			eb = errorBody{}
			st := e.do(req.method, req.path, nil, &eb)
			check(req.method+" "+truncate(req.path, 60), st, eb)
		}
		for _, path := range []string{"/api/v1/detection/predict", "/api/v1/detection/train"} {
			eb = errorBody{}
			st := e.do("POST", path, `{"detector_id":`+string(js)+`,"data":[[1,2,3]]}`, &eb)
			check("POST "+path+" with id "+truncate(string(js), 40), st, eb)
		}
		for _, q := range []string{"/api/v1/detection/results?detector_id=", "/api/v1/detectors?algorithm=", "/api/v1/datasets?file_format="} {
			eb = errorBody{}
			var ok map[string]any
			st := e.do("GET", q+url.QueryEscape(s), nil, &ok)
			if st != 200 {
				e.do("GET", q+url.QueryEscape(s), nil, &eb)
				check("GET "+q, st, eb)
			}
		}
	}
	// Datasets named by the query string.
	for _, s := range bad[:2] {
		var eb errorBody
		code, _ := e.send("POST", "/api/v1/datasets?name="+url.QueryEscape(s), "text/csv", "", []byte("a,b\n1,2\n"), &eb)
		check("dataset named "+truncate(s, 20), code, eb)
	}
	e.predictOK(id, [][]float64{{1, 2, 3}})
}

// Defect class 1: a training whose accepted parameters would need more memory (or time) on
// data of its shape than the server allows one training is refused before it starts, with
// what it would need; nothing is allocated, no job is made, every other detector serves on.
func TestOversizedTrainingIsRefusedBeforeItStarts(t *testing.T) {
	t.Run("the issue's example on the default budget", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		good := e.createAndTrain("hbos", nil, rows(50, 10, 1))
		jobsBefore := len(e.srv.jobs.byID)
		var b strings.Builder
		b.WriteString("c0,c1,c2,c3,c4,c5,c6,c7,c8,c9\n")
		for i := range 65536 {
			for j := range 10 {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%d", (i*7+j*13)%1000)
			}
			b.WriteByte('\n')
		}
		var ds datasetView
		code, _ := e.send("POST", "/api/v1/datasets?name=big", "text/csv", "", []byte(b.String()), &ds)
		if code != 201 || ds.NSamples != 65536 {
			t.Fatalf("upload: %d %+v", code, ds)
		}
		for _, tc := range []struct {
			alg    string
			params map[string]any
			part   string
		}{
			{"isolation_forest", map[string]any{"n_estimators": 100000, "max_samples": 65536}, "n_estimators"},
			{"local_outlier_factor", map[string]any{"n_neighbors": 60000}, "n_neighbors"},
			{"knn", map[string]any{"n_neighbors": 60000}, "n_neighbors"},
		} {
			var d detectorView
			if st := e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": tc.alg, "parameters": tc.params}, &d); st != 201 {
				t.Fatalf("create %s: %d", tc.alg, st)
			}
			eb := e.wantError("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "dataset_id": ds.ID}, 400, CodeInvalidParam, tc.part)
			if !strings.Contains(eb.Error, "GiB") || !strings.Contains(eb.Error, "budget") {
				t.Errorf("%s: the message does not say what it would need: %q", tc.alg, eb.Error)
			}
		}
		if n := len(e.srv.jobs.byID) - jobsBefore; n != 0 {
			t.Errorf("%d jobs made for refused trainings", n)
		}
		e.predictOK(good, rows(3, 10, 2))
	})
	t.Run("small budgets, every algorithm", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: func(c *Config) { c.TrainMemoryBudget = 8 << 20; c.TrainTimeBudget = 50 * time.Millisecond }})
		data := rows(4000, 6, 3)
		for _, tc := range []struct {
			alg    string
			params map[string]any
		}{
			{"isolation_forest", map[string]any{"n_estimators": 5000, "max_samples": 4000}},
			{"local_outlier_factor", map[string]any{"n_neighbors": 3000}},
			{"knn", map[string]any{"n_neighbors": 3000}},
			{"one_class_svm", map[string]any{"tol": 1e-9}},
		} {
			var d detectorView
			e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": tc.alg, "parameters": tc.params}, &d)
			var eb errorBody
			st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": data}, &eb)
			if st != 400 || eb.Code != CodeInvalidParam || !strings.Contains(eb.Error, "budget") {
				t.Errorf("%s: %d %+v, want 400 invalid_parameter over the budget", tc.alg, st, eb)
			}
		}
		// Within the budgets the same algorithms train.
		for _, alg := range []string{"isolation_forest", "local_outlier_factor", "knn", "hbos", "ecod"} {
			e.createAndTrain(alg, nil, rows(300, 6, 4))
		}
	})
}

// Defect class 5: finite data too large for an algorithm's arithmetic (near ±1e308) is a 400
// in the user's terms, on train and on predict, never a 500 or NaN scores; and a parameter
// out of range for the data (max_features above its columns) is a 400 invalid_parameter.
func TestValuesOutOfRangeAre400(t *testing.T) {
	e := newEnv(t, envOpts{})
	huge := [][]float64{{1e308, -1e308, 0}, {-1e308, 1e308, 1}, {1e308, 1e308, -1}, {0, 0, 0}, {5e307, -5e307, 2}, {1, 2, 3}, {-1e308, -1e308, 5}}
	for _, alg := range []string{"one_class_svm", "knn", "local_outlier_factor", "isolation_forest", "hbos", "ecod"} {
		var d detectorView
		params := map[string]any{}
		if alg == "knn" || alg == "local_outlier_factor" {
			params["n_neighbors"] = 2
		}
		e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": alg, "parameters": params}, &d)
		var tr trainResponse
		var eb errorBody
		st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": huge}, &tr)
		if st != 200 {
			e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": huge}, &eb)
			if st != 400 || eb.Code != CodeInvalidData || !strings.Contains(eb.Error, "scale") {
				t.Errorf("%s train on ±1e308: %d %+v, want 200 or 400 invalid_data saying to scale", alg, st, eb)
			}
			continue
		}
		var p predictResponse
		st = e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": d.ID, "data": huge}, &p)
		if st == 200 {
			for i, v := range p.Scores {
				if v != v {
					t.Errorf("%s: NaN score for row %d answered 200", alg, i)
				}
			}
		} else if st != 400 {
			t.Errorf("%s predict on ±1e308: status %d", alg, st)
		}
	}
	for _, mf := range []any{12, 1000} {
		var d detectorView
		e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "isolation_forest", "parameters": map[string]any{"max_features": mf}}, &d)
		e.wantError("POST", "/api/v1/detection/train", map[string]any{"detector_id": d.ID, "data": rows(100, 6, 1)}, 400, CodeInvalidParam, "max_features")
	}
}

// A parameter the specs accept but the algorithm refuses for its value (isolation_forest's
// max_samples of 2.5: above 1 it must be a whole count) is a 400, not a 500; found by
// FuzzParseParams.
func TestConstructorRefusalsAre400(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, p := range []map[string]any{{"max_samples": 2.5}, {"max_features": 2.5}} {
		e.wantError("POST", "/api/v1/detectors", map[string]any{"algorithm": "isolation_forest", "parameters": p}, 400, CodeInvalidParam, "max_")
	}
}
