package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPredict posts arbitrary bodies to the predict handler: every answer is 200 or a 4xx
// with a JSON error, never a 5xx or a panic, and the service keeps answering.
func FuzzPredict(f *testing.F) {
	e := newEnv(f, envOpts{})
	id := e.createAndTrain("isolation_forest", nil, rows(200, 3, 1))
	for _, seed := range []string{
		`{"detector_id":"` + id + `","data":[[1,2,3]]}`,
		`{"detector_id":"` + id + `","data":[[1,2,3],[4,5,6]]}`,
		`{"detector_id":"` + id + `","data":[[1e308,-1e308,0]]}`,
		`{"detector_id":"` + id + `","data":[[1,2]]}`,
		`{"detector_id":"` + id + `","data":[]}`,
		`{"detector_id":"` + id + `","data":[[]]}`,
		`{"detector_id":"` + id + `","data":null}`,
		`{"detector_id":"x","data":[[1,2,3]]}`,
		`{"detector_id":` + id + `}`,
		`[]`, `null`, `{}`, `{"data":[[1,2,3]]}`, `{"detector_id":"` + id + `","data":[[1e999,2,3]]}`,
	} {
		f.Add([]byte(seed))
	}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/detection/predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			var p predictResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Scores) == 0 || len(p.Scores) != len(p.IsAnomaly) {
				t.Fatalf("200 with body %q", rec.Body.Bytes())
			}
		case rec.Code >= 400 && rec.Code < 500:
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code == "" || eb.Error == "" {
				t.Fatalf("%d with body %q: not a JSON error", rec.Code, rec.Body.Bytes())
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body.Bytes())
		}
	})
}
