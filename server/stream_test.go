package server

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
	"net/http/httptest"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// streamLine is any line of a stream's answer.
type streamLine struct {
	Row       *int     `json:"row"`
	Score     float64  `json:"score"`
	IsAnomaly bool     `json:"is_anomaly"`
	Done      bool     `json:"done"`
	Error     string   `json:"error"`
	Code      string   `json:"code"`
	Line      int      `json:"line"`
	Rows      int      `json:"rows"`
	Anomalies int      `json:"anomalies"`
	Threshold *float64 `json:"threshold"`
	Version   int64    `json:"version"`
}

// streamURL is the stream endpoint of e for detector id.
func (e *env) streamURL(id string) string { return e.http.URL + streamPath + "?detector_id=" + id }

// postStream posts body to the stream endpoint and returns the answer's status and lines.
func (e *env) postStream(id string, body io.Reader) (int, []streamLine) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.streamURL(id), body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readStreamLines(e.t, resp.Body)
}

func readStreamLines(t testing.TB, r io.Reader) []streamLine {
	t.Helper()
	var out []streamLine
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l streamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("answer line %d %q is not JSON: %v", len(out)+1, sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// ndjson is rows as a stream's body.
func ndjson(rs [][]float64) string {
	var b strings.Builder
	for _, r := range rs {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// Scores of a stream are the predict endpoint's for the same rows, row for row, in order,
// whatever the batches; the last line sums them up, and one result is stored for the stream.
func TestStreamScoresEqualPredict(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.StreamBatchRows = 7 }})
	train, test := rows(500, 5, 11), rows(100, 5, 12)
	for _, alg := range []string{"isolation_forest", "hbos", "knn"} {
		t.Run(alg, func(t *testing.T) {
			id := e.createAndTrain(alg, map[string]any{}, train)
			var want predictResponse
			if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &want); st != 200 {
				t.Fatalf("predict: status %d", st)
			}
			// Blank lines and CRLF ends are allowed; a last line may lack its newline.
			body := strings.Replace(ndjson(test), "\n", "\r\n\n", 3)
			body = strings.TrimSuffix(body, "\n")
			st, lines := e.postStream(id, strings.NewReader(body))
			if st != 200 || len(lines) != len(test)+1 {
				t.Fatalf("status %d, %d lines (want %d): %+v", st, len(lines), len(test)+1, lines[len(lines)-1])
			}
			anomalies := 0
			for i, l := range lines[:len(test)] {
				if l.Row == nil || *l.Row != i || l.Score != want.Scores[i] || l.IsAnomaly != want.IsAnomaly[i] {
					t.Fatalf("line %d: %+v, want row %d score %v anomaly %v", i+1, l, i, want.Scores[i], want.IsAnomaly[i])
				}
				if l.IsAnomaly {
					anomalies++
				}
			}
			end := lines[len(test)]
			if !end.Done || end.Rows != len(test) || end.Anomalies != anomalies || end.Threshold == nil || *end.Threshold != want.Threshold || end.Version == 0 {
				t.Fatalf("end line %+v", end)
			}
			waitFor(t, "the stream's result", func() bool {
				rs, err := e.st.ListResults(context.Background(), store.ResultFilter{DetectorID: id})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if r.NSamples == len(test) && r.Anomalies == anomalies && len(r.Scores) == 0 {
						return true
					}
				}
				return false
			})
		})
	}
}

// liveStream is a stream kept open: rows are sent as the test goes, answers read as they come.
type liveStream struct {
	t      testing.TB
	pw     *io.PipeWriter
	respc  chan *http.Response
	errc   chan error
	resp   *http.Response
	sc     *bufio.Scanner
	cancel context.CancelFunc
}

// openStream starts a stream to detector id; its answer is awaited at the first read (the
// header goes out with the first scores).
func (e *env) openStream(id string) *liveStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, "POST", e.streamURL(id), pr)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	ls := &liveStream{t: e.t, pw: pw, respc: make(chan *http.Response, 1), errc: make(chan error, 1), cancel: cancel}
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ls.errc <- err
			return
		}
		ls.respc <- resp
	}()
	e.t.Cleanup(ls.close)
	return ls
}

// send writes rows; it reports whether the server still takes them.
func (ls *liveStream) send(rs [][]float64) bool {
	_, err := io.WriteString(ls.pw, ndjson(rs))
	return err == nil
}

func (ls *liveStream) answer() *http.Response {
	ls.t.Helper()
	if ls.resp == nil {
		select {
		case ls.resp = <-ls.respc:
		case err := <-ls.errc:
			ls.t.Fatalf("stream: %v", err)
		case <-time.After(30 * time.Second):
			ls.t.Fatal("stream: no answer within 30 s")
		}
		ls.sc = bufio.NewScanner(ls.resp.Body)
	}
	return ls.resp
}

// next reads the next line of the answer; false at its end.
func (ls *liveStream) next() (streamLine, bool) {
	ls.t.Helper()
	ls.answer()
	got := make(chan bool, 1)
	go func() { got <- ls.sc.Scan() }()
	select {
	case ok := <-got:
		if !ok {
			return streamLine{}, false
		}
	case <-time.After(30 * time.Second):
		ls.t.Fatal("stream: no line within 30 s")
	}
	var l streamLine
	if err := json.Unmarshal(ls.sc.Bytes(), &l); err != nil {
		ls.t.Fatalf("answer line %q is not JSON: %v", ls.sc.Text(), err)
	}
	return l, true
}

// rest reads the answer to its end.
func (ls *liveStream) rest() []streamLine {
	ls.t.Helper()
	var out []streamLine
	for {
		l, ok := ls.next()
		if !ok {
			return out
		}
		out = append(out, l)
	}
}

func (ls *liveStream) close() {
	ls.cancel()
	_ = ls.pw.Close()
	if ls.resp != nil {
		ls.resp.Body.Close()
	}
}

// Many batches over one connection, answered as they go: the client reads the scores of each
// part before it sends the next, which it could not if the server read the whole body first.
func TestStreamAnswersBeforeTheBodyEnds(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.StreamBatchRows = 16 }})
	id := e.createAndTrain("isolation_forest", map[string]any{"seed": 3}, rows(300, 4, 21))
	test := rows(400, 4, 22)
	var want predictResponse
	if st := e.do("POST", "/api/v1/detection/predict", map[string]any{"detector_id": id, "data": test}, &want); st != 200 {
		t.Fatalf("predict: status %d", st)
	}
	ls := e.openStream(id)
	const part = 40
	for p := 0; p < len(test)/part; p++ {
		if !ls.send(test[p*part : (p+1)*part]) {
			t.Fatalf("part %d: the server stopped reading", p)
		}
		for i := p * part; i < (p+1)*part; i++ {
			l, ok := ls.next()
			if !ok || l.Row == nil || *l.Row != i || l.Score != want.Scores[i] {
				t.Fatalf("part %d: line %+v (ok %v), want row %d score %v", p, l, ok, i, want.Scores[i])
			}
		}
	}
	if ls.answer().Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("content type %q", ls.answer().Header.Get("Content-Type"))
	}
	_ = ls.pw.Close()
	end := ls.rest()
	if len(end) != 1 || !end[0].Done || end[0].Rows != len(test) {
		t.Fatalf("end %+v", end)
	}
}

// A long stream holds bounded memory: 200,000 rows of 32 values (about 40 MB of body, 51 MB
// of numbers) pass through while the live heap grows by less than 16 MB.
func TestStreamMemoryIsBounded(t *testing.T) {
	e := newEnv(t, envOpts{})
	const n, d = 200_000, 32
	id := e.createAndTrain("hbos", nil, rows(200, d, 31))
	pr, pw := io.Pipe()
	go func() {
		// Rows made as they are sent: the client holds none of them.
		r := rows(64, d, 32)
		var b []byte
		for i := range n {
			b = append(b[:0], '[')
			for j, v := range r[i%len(r)] {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, v+float64(i%7), 'f', 2, 64)
			}
			b = append(b, "]\n"...)
			if _, err := pw.Write(b); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	defer pw.Close()

	live := func() uint64 {
		s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
		rtmetrics.Read(s)
		return s[0].Value.Uint64()
	}
	runtime.GC()
	base := live()
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		var top uint64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- top
				return
			case <-tick.C:
				runtime.GC()
				top = max(top, live())
			}
		}
	}()
	req, _ := http.NewRequest("POST", e.streamURL(id), pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines, last := 0, []byte(nil)
	br := bufio.NewReader(resp.Body)
	for {
		l, err := br.ReadSlice('\n')
		if err != nil {
			break
		}
		lines++
		last = append(last[:0], l...)
	}
	close(stop)
	top := <-peak
	var end streamLine
	if err := json.Unmarshal(last, &end); err != nil || !end.Done || end.Rows != n || lines != n+1 {
		t.Fatalf("%d lines, last %q", lines, last)
	}
	if top > base && top-base > 16<<20 {
		t.Fatalf("live heap grew from %d to %d bytes over the stream", base, top)
	}
	t.Logf("live heap %d MB at the start, at most %d MB during the stream", base>>20, top>>20)
}

// A bad line ends the stream with a line that names it; the rows before it are answered. On
// the first line, before any answer, the status says it.
func TestStreamBadLineEndsIt(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 41))
	good := "[1, 2, 3]\n[0.5,-1e-3,2E2]\n\n[ 0 , 0 , 0 ]\n"
	for _, tc := range []struct {
		name, line, code, msg string
	}{
		{"NaN", "[1, NaN, 3]", CodeBadRequest, "NaN"},
		{"Infinity", "[Infinity, 1, 2]", CodeBadRequest, "JSON has no NaN or Infinity"},
		{"too few", "[1, 2]", CodeInvalidData, "2 values, the detector was trained on 3"},
		{"too many", "[1, 2, 3, 4]", CodeInvalidData, "more than 3 values"},
		{"empty", "[]", CodeInvalidData, "0 values"},
		{"garbage", "hello", CodeBadRequest, "want a JSON array of numbers"},
		{"object", `{"data":[1,2,3]}`, CodeBadRequest, "got an object"},
		{"string", `[1, "2", 3]`, CodeBadRequest, "column 1: a string is not a number"},
		{"null", `[1, null, 3]`, CodeBadRequest, "column 1: null is not a number"},
		{"trailing comma", `[1, 2, 3,]`, CodeBadRequest, "column 3"},
		{"missing comma", `[1 2, 3]`, CodeBadRequest, "want ',' or ']'"},
		{"leading zero", `[01, 2, 3]`, CodeBadRequest, "want ',' or ']'"},
		{"plus", `[+1, 2, 3]`, CodeBadRequest, "is not a number"},
		{"two rows", `[1, 2, 3][4, 5, 6]`, CodeBadRequest, "data after the array"},
		{"nested", `[[1, 2, 3]]`, CodeBadRequest, "an array is not a number"},
		{"out of range", `[1e999, 2, 3]`, CodeBadRequest, "out of the range"},
		{"unclosed", `[1, 2, 3`, CodeBadRequest, "the end of the line"},
		{"control bytes", "[\x00\x01]", CodeBadRequest, `"\x00\x01]"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Line 5 (a blank line counts): three rows answered first.
			st, lines := e.postStream(id, strings.NewReader(good+tc.line+"\n[1,2,3]\n"))
			if st != 200 || len(lines) != 4 {
				t.Fatalf("status %d, lines %+v", st, lines)
			}
			l := lines[3]
			if l.Line != 5 || l.Code != tc.code || l.Rows != 3 || !strings.Contains(l.Error, tc.msg) || !strings.HasPrefix(l.Error, "line 5") {
				t.Fatalf("end line %+v, want line 5, code %s, %q", l, tc.code, tc.msg)
			}
			// On line 1: a 400 with the same error.
			st, lines = e.postStream(id, strings.NewReader(tc.line+"\n"+good))
			if st != 400 || len(lines) != 1 || lines[0].Line != 1 || lines[0].Code != tc.code || !strings.Contains(lines[0].Error, tc.msg) {
				t.Fatalf("on line 1: status %d, %+v", st, lines)
			}
		})
	}
}

// The bounds of a stream: a line too long, a client that stops sending, a stream that lasts
// too long; each ends it with a line that says which, after the rows before it are answered.
func TestStreamBounds(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) {
		c.StreamMaxLineBytes = 100_000
		c.StreamIdleTimeout = time.Second
	}})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 51))

	t.Run("line too long", func(t *testing.T) {
		for _, size := range []int{100_001, 150_000, 5 << 20} { // past the limit, past the read buffer, far past
			long := "[1, 2, 3" + strings.Repeat(" ", size-9) + "]"
			st, lines := e.postStream(id, strings.NewReader("[1,2,3]\n[4,5,6]\n"+long+"\n[1,2,3]\n"))
			if st != 200 || len(lines) != 3 || lines[2].Code != CodeTooLarge || lines[2].Line != 3 || lines[2].Rows != 2 {
				t.Fatalf("%d bytes: status %d, %+v", size, st, lines)
			}
			st, lines = e.postStream(id, strings.NewReader(long))
			if st != http.StatusRequestEntityTooLarge || len(lines) != 1 || lines[0].Line != 1 {
				t.Fatalf("%d bytes on line 1: status %d, %+v", size, st, lines)
			}
		}
		// At the limit exactly: a row.
		st, lines := e.postStream(id, strings.NewReader("[1, 2, 3"+strings.Repeat(" ", 100_000-9)+"]\r\n"))
		if st != 200 || len(lines) != 2 || !lines[1].Done {
			t.Fatalf("at the limit: status %d, %+v", st, lines)
		}
	})

	t.Run("idle", func(t *testing.T) {
		ls := e.openStream(id)
		ls.send(rows(3, 3, 52))
		lines := ls.rest() // the client sends nothing more and keeps the body open
		if len(lines) != 4 || lines[3].Code != CodeTimeout || lines[3].Rows != 3 || !strings.Contains(lines[3].Error, "idle") {
			t.Fatalf("%+v", lines)
		}
		// Idle from the start: the status says it.
		ls = e.openStream(id)
		if st := ls.answer().StatusCode; st != http.StatusRequestTimeout {
			t.Fatalf("idle from the start: status %d", st)
		}
	})

	t.Run("longest duration", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: func(c *Config) { c.StreamMaxDuration = time.Second }})
		id := e.createAndTrain("hbos", nil, rows(100, 3, 53))
		ls := e.openStream(id)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a row every 20 ms, for ever
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					if !ls.send(rows(1, 3, 54)) {
						return
					}
				}
			}
		}()
		lines := ls.rest()
		end := lines[len(lines)-1]
		if end.Code != CodeTimeout || !strings.Contains(end.Error, "longest duration") || end.Rows != len(lines)-1 || end.Rows == 0 {
			t.Fatalf("end %+v after %d lines", end, len(lines))
		}
	})
}

// Refusals come before the stream starts, with their status: an unknown or unfitted
// detector, a bad query, content type or encoding.
func TestStreamRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	var unfitted detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "knn"}, &unfitted)
	id := e.createAndTrain("hbos", nil, rows(100, 3, 61))
	body := "[1,2,3]\n"
	for _, tc := range []struct {
		name, query, ctype, enc string
		status                  int
		code                    string
	}{
		{"unknown detector", "detector_id=00000000-0000-0000-0000-000000000000", "", "", 404, CodeNotFound},
		{"malformed id", "detector_id=" + strings.Repeat("x", 5000), "", "", 404, CodeNotFound},
		{"not fitted", "detector_id=" + unfitted.ID, "", "", 409, CodeNotFitted},
		{"no detector", "", "", "", 400, CodeBadRequest},
		{"two detectors", "detector_id=" + id + "&detector_id=" + id, "", "", 400, CodeBadRequest},
		{"unknown parameter", "detector_id=" + id + "&batch=5", "", "", 400, CodeBadRequest},
		{"bad escape", "detector_id=%zz", "", "", 400, CodeBadRequest},
		{"content type", "detector_id=" + id, "text/csv", "", 415, CodeUnsupported},
		{"encoding", "detector_id=" + id, "", "br", 415, CodeUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.http.URL+streamPath+"?"+tc.query, strings.NewReader(body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.enc != "" {
				req.Header.Set("Content-Encoding", tc.enc)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var eb errorBody
			_ = json.NewDecoder(resp.Body).Decode(&eb)
			if resp.StatusCode != tc.status || eb.Code != tc.code || len(eb.Error) > 1100 {
				t.Fatalf("status %d, %+v; want %d %s", resp.StatusCode, eb, tc.status, tc.code)
			}
		})
	}
	// GET is not a stream.
	if st := e.do("GET", streamPath+"?detector_id="+id, nil, nil); st != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", st)
	}
	// Refused at once, the connection closed, without waiting for a body that never comes.
	for _, q := range []string{"detector_id=00000000-0000-0000-0000-000000000000", "detector_id=" + unfitted.ID, "x=1"} {
		status, closed, took := raw(t, addr(e), "POST "+streamPath+"?"+q+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		if status[0] != '4' || !closed || took > 5*time.Second {
			t.Errorf("%s: %s, closed %v, after %v", q, status, closed, took)
		}
	}
}

// Without a valid key a stream is refused before its body is read: the headers alone get the
// 401, and the connection is closed.
func TestStreamNeedsTheKeyBeforeTheBody(t *testing.T) {
	e := newEnv(t, envOpts{key: "s3cret"})
	for _, auth := range []string{"", "Authorization: Bearer guess\r\n"} {
		req := "POST " + streamPath + "?detector_id=x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n"
		status, closed, took := raw(t, addr(e), req)
		if !strings.HasPrefix(status, "401") || !closed || took > 5*time.Second {
			t.Errorf("%q: %s, closed %v, after %v", auth, status, closed, took)
		}
	}
	// With the key, a gzip-compressed stream.
	id := e.createAndTrain("hbos", nil, rows(100, 3, 71))
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = io.WriteString(zw, ndjson(rows(50, 3, 72)))
	_ = zw.Close()
	req, _ := http.NewRequest("POST", e.streamURL(id), &zb)
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := readStreamLines(t, resp.Body)
	if resp.StatusCode != 200 || len(lines) != 51 || !lines[50].Done {
		t.Fatalf("gzip: status %d, %d lines", resp.StatusCode, len(lines))
	}
}

// streamGoroutines counts the goroutines running a stream's handler.
func streamGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("server.(*Server).stream")) || bytes.Contains(g, []byte("server.(*stream).")) {
			n++
		}
	}
	return n
}

// noStreamsLeft waits until e serves no stream and no goroutine of one is left.
func noStreamsLeft(t *testing.T, e *env) {
	t.Helper()
	waitFor(t, "the streams to end", func() bool { return e.srv.streams.active() == 0 && streamGoroutines() == 0 })
}

// A stream ends cleanly, leaving no goroutine, however it ends: the client disconnects, its
// detector is deleted, the client stops reading its answers, the server shuts down.
func TestStreamEndsCleanly(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 81))

	t.Run("client disconnects", func(t *testing.T) {
		ls := e.openStream(id)
		ls.send(rows(10, 3, 82))
		for range 10 {
			ls.next()
		}
		ls.close()
		noStreamsLeft(t, e)
	})

	t.Run("detector deleted", func(t *testing.T) {
		id := e.createAndTrain("hbos", nil, rows(100, 3, 83))
		ls := e.openStream(id)
		ls.send(rows(5, 3, 84))
		for range 5 {
			ls.next()
		}
		if st := e.do("DELETE", "/api/v1/detectors/"+id, nil, nil); st != http.StatusNoContent {
			t.Fatalf("delete: status %d", st)
		}
		ls.send(rows(5, 3, 85))
		lines := ls.rest()
		if len(lines) != 1 || lines[0].Code != CodeNotFound || lines[0].Rows != 5 {
			t.Fatalf("%+v", lines)
		}
		noStreamsLeft(t, e)
	})

	t.Run("client does not read", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: func(c *Config) { c.StreamIdleTimeout = 500 * time.Millisecond }})
		id := e.createAndTrain("hbos", nil, rows(100, 3, 81))
		ls := e.openStream(id)
		stop := make(chan struct{})
		sent := make(chan struct{})
		go func() { // rows as fast as the server takes them; the answers are never read
			defer close(sent)
			chunk := ndjson(rows(500, 3, 86))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := io.WriteString(ls.pw, chunk); err != nil {
					return
				}
			}
		}()
		waitFor(t, "the stream to start", func() bool { return e.srv.streams.active() == 1 })
		noStreamsLeft(t, e) // cut off at the idle timeout of its writes
		close(stop)
		ls.close()
		<-sent
	})

	t.Run("retrained", func(t *testing.T) {
		id := e.createAndTrain("hbos", nil, rows(100, 3, 87))
		ls := e.openStream(id)
		ls.send(rows(5, 3, 88))
		for range 5 {
			ls.next()
		}
		var d detectorView
		e.do("GET", "/api/v1/detectors/"+id, nil, &d)
		var tr trainResponse
		if st := e.do("POST", "/api/v1/detection/train", map[string]any{"detector_id": id, "data": rows(100, 3, 89)}, &tr); st != 200 {
			t.Fatalf("train: status %d", st)
		}
		ls.send(rows(5, 3, 90))
		_ = ls.pw.Close()
		lines := ls.rest()
		end := lines[len(lines)-1]
		if len(lines) != 6 || !end.Done || end.Version != tr.Version || end.Rows != 10 {
			t.Fatalf("after retraining to version %d: %+v", tr.Version, lines)
		}
	})
}

// At shutdown a stream answers the rows it has read and a line saying so, and Run returns
// without waiting for the client to finish.
func TestStreamEndsAtShutdown(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 91))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- e.srv.Run(ctx, l) }()
	url := "http://" + l.Addr().String() + streamPath + "?detector_id=" + id
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", url, pr)
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(respc)
			return
		}
		respc <- resp
	}()
	_, _ = io.WriteString(pw, ndjson(rows(7, 3, 92)))
	resp := <-respc
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for range 7 {
		if _, err := br.ReadSlice('\n'); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	cancel()
	lines := readStreamLines(t, br)
	if len(lines) != 1 || lines[0].Code != CodeUnavailable || lines[0].Rows != 7 {
		t.Fatalf("%+v", lines)
	}
	select {
	case <-ran:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20 s of the shutdown")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if n := streamGoroutines(); n != 0 {
		t.Errorf("%d stream goroutines left", n)
	}
}

// Past MaxStreams a stream is refused at once with 503 and Retry-After; the streams are counted
// on /metrics and their batches in the monitor.
func TestStreamLimitAndCounts(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxStreams = 1 }})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 93))
	ls := e.openStream(id)
	ls.send(rows(3, 3, 94))
	for range 3 {
		ls.next()
	}
	req, _ := http.NewRequest("POST", e.streamURL(id), strings.NewReader("[1,2,3]\n"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second stream: status %d", resp.StatusCode)
	}
	_ = ls.pw.Close()
	ls.rest()
	noStreamsLeft(t, e)

	var ops []string
	rowsSeen := int64(0)
	for _, s := range e.srv.monitor.Tracker().Summaries() {
		ops = append(ops, s.Name)
		if s.Name == streamOp {
			rowsSeen = s.Rows
		}
		if s.Name == "POST "+streamPath {
			t.Errorf("the stream is tracked as a request: %+v", s)
		}
	}
	if rowsSeen != 3 {
		t.Errorf("monitor: %d rows in %q; operations %v", rowsSeen, streamOp, ops)
	}
	rec := withoutInstance(httptestGet(e, "/metrics"))
	for _, want := range []string{
		fmt.Sprintf(`gonomaly_http_requests_total{code="200",method="POST",route="POST %s"} 1`, streamPath),
		fmt.Sprintf(`gonomaly_http_requests_total{code="503",method="POST",route="POST %s"} 1`, streamPath),
		`gonomaly_http_requests_refused_total{limit="too many streams"} 1`,
	} {
		if !strings.Contains(rec, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(rec, "detection/stream"))
		}
	}
}

// httptestGet answers GET path from e's handler.
func httptestGet(e *env, path string) string {
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Body.String()
}

// repeatLines is a body of n lines taken from src in turn, made as it is read.
type repeatLines struct {
	src  []byte
	off  int
	cur  []byte
	left int
}

func (r *repeatLines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.cur) == 0 {
			if r.left == 0 {
				break
			}
			if r.off == len(r.src) {
				r.off = 0
			}
			i := bytes.IndexByte(r.src[r.off:], '\n')
			r.cur, r.off, r.left = r.src[r.off:r.off+i+1], r.off+i+1, r.left-1
		}
		k := copy(p[n:], r.cur)
		r.cur, n = r.cur[k:], n+k
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// BenchmarkStreamRows is the cost of a row through the stream endpoint (b.N rows in one stream
// over one connection: sent, parsed, scored by an isolation forest of 100 trees on 10 values,
// answered and read), beside the same rows through predict in requests of 1000 rows.
func BenchmarkStreamRows(b *testing.B) {
	e := newEnv(b, envOpts{})
	id := e.createAndTrain("isolation_forest", map[string]any{"seed": 1}, rows(2000, 10, 1))
	test := rows(1000, 10, 2)
	src := []byte(ndjson(test))
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		req, _ := http.NewRequest("POST", e.streamURL(id), &repeatLines{src: src, left: b.N})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReaderSize(resp.Body, 64<<10)
		lines, last := 0, []byte(nil)
		for {
			l, err := br.ReadSlice('\n')
			if err != nil {
				break
			}
			lines++
			if lines > b.N {
				last = append(last[:0], l...)
			}
		}
		var end streamLine
		if err := json.Unmarshal(last, &end); err != nil || !end.Done || end.Rows != b.N {
			b.Fatalf("%d lines, last %q", lines, last)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		for _, s := range e.srv.monitor.Tracker().Summaries() {
			if s.Name == streamOp && s.Count > 0 {
				b.ReportMetric(float64(s.Rows)/float64(s.Count), "rows/batch")
			}
		}
	})
	b.Run("predict-1000", func(b *testing.B) {
		b.ReportAllocs()
		body, _ := json.Marshal(map[string]any{"detector_id": id, "data": test})
		for done := 0; done < b.N; done += len(test) {
			resp, err := http.Post(e.http.URL+"/api/v1/detection/predict", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// Abuse: a gzip bomb ends at the line limit, not in memory; a body that is not gzip is a 400; a
// chunked body cut mid-line, and streams opened and dropped without a word, leave nothing
// behind.
func TestStreamAbuse(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.StreamIdleTimeout = 2 * time.Second }})
	id := e.createAndTrain("hbos", nil, rows(100, 3, 95))
	post := func(enc string, body io.Reader) (int, []streamLine) {
		req, _ := http.NewRequest("POST", e.streamURL(id), body)
		req.Header.Set("Content-Encoding", enc)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readStreamLines(t, resp.Body)
	}

	t.Run("gzip bomb", func(t *testing.T) {
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
		_, _ = io.WriteString(zw, "[1,2,3]\n[")
		space := bytes.Repeat([]byte{' '}, 1<<20)
		for range 16 { // 16 MiB of one line (16 times the limit), 16 KB compressed
			_, _ = zw.Write(space)
		}
		_ = zw.Close()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		st, lines := post("gzip", &zb)
		if st != 200 || len(lines) != 2 || lines[1].Code != CodeTooLarge || lines[1].Line != 2 {
			t.Fatalf("status %d, %+v", st, lines)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
			t.Errorf("%d MB allocated for a 16 MiB line", grew>>20)
		}
	})

	t.Run("not gzip", func(t *testing.T) {
		st, lines := post("gzip", strings.NewReader("[1,2,3]\n"))
		if st != 400 || len(lines) != 1 || lines[0].Code != CodeBadRequest || !strings.Contains(lines[0].Error, "gzip") {
			t.Fatalf("status %d, %+v", st, lines)
		}
	})

	t.Run("binary", func(t *testing.T) {
		junk := make([]byte, 1<<20)
		for i := range junk {
			junk[i] = byte(i*7919 + i>>8)
		}
		st, lines := post("", bytes.NewReader(junk))
		if len(lines) == 0 || lines[len(lines)-1].Error == "" || (st != 200 && st/100 != 4) {
			t.Fatalf("status %d, %+v", st, lines)
		}
	})

	t.Run("cut mid-line", func(t *testing.T) {
		c, err := net.Dial("tcp", addr(e))
		if err != nil {
			t.Fatal(err)
		}
		req := "POST " + streamPath + "?detector_id=" + id + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"10\r\n[1,2,3]\n[4,5,6]\n\r\n8\r\n[7,8,9"
		_, _ = io.WriteString(c, req)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The two whole rows are answered (after the idle timeout: net/http's chunked reader
		// waits for the rest of a chunk it has begun before it returns what it holds).
		for range 2 {
			var l streamLine
			line, err := readChunkedLine(resp.Body)
			if err != nil || json.Unmarshal(line, &l) != nil || l.Row == nil {
				t.Fatalf("line %q: %v", line, err)
			}
		}
		c.Close()
		noStreamsLeft(t, e)
	})

	t.Run("dropped", func(t *testing.T) {
		for range 10 {
			c, err := net.Dial("tcp", addr(e))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(c, "POST "+streamPath+"?detector_id="+id+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2")
			defer c.Close()
		}
		waitFor(t, "the streams to start", func() bool { return e.srv.streams.active() > 0 })
		noStreamsLeft(t, e) // each cut off at the idle timeout
	})
}

// readChunkedLine reads one line of a response body.
func readChunkedLine(r io.Reader) ([]byte, error) {
	var out []byte
	b := make([]byte, 1)
	for {
		if _, err := r.Read(b); err != nil {
			return out, err
		}
		if b[0] == '\n' {
			return out, nil
		}
		out = append(out, b[0])
	}
}
