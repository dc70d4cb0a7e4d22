package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

var (
	_ = bytes.NewReader
	_ = fmt.Sprint
	_ = net.Dial
	_ = runtime.NumGoroutine
	_ = rtmetrics.Read
	_ = strconv.Itoa
	_ = time.Now
)
