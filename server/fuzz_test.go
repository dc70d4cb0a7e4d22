package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
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

// FuzzJSONRows checks the data-rows decoder against encoding/json: whatever it accepts,
// encoding/json decodes to the same numbers in rows of one width; whatever encoding/json
// decodes without a null into rows of one width, it accepts.
func FuzzJSONRows(f *testing.F) {
	for _, seed := range []string{
		`[[1,2,3]]`, `[[1,2],[3,4]]`, `[]`, `[[]]`, `null`, `[[null]]`, `[[1],[2,3]]`, `[["1"]]`,
		`[[1e308,-1e308,5e-324]]`, `[[1e999]]`, `[ [ -0.0 , 1E+2 ] ]`, `{"a":1}`, `[[true]]`, `[1,2]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // encoding/json refuses it before the decoder runs
		}
		var got jsonRows
		gotErr := json.Unmarshal(b, &got)
		var want [][]float64
		wantErr := json.Unmarshal(b, &want)
		if gotErr == nil && got.present {
			if wantErr != nil {
				t.Fatalf("%q: accepted, encoding/json says %v", b, wantErr)
			}
			if got.m.Rows != len(want) || len(got.m.Data) != got.m.Rows*got.m.Cols {
				t.Fatalf("%q: shape %dx%d (%d values), encoding/json %d rows", b, got.m.Rows, got.m.Cols, len(got.m.Data), len(want))
			}
			for i, r := range want {
				if len(r) != got.m.Cols {
					t.Fatalf("%q: row %d has %d values, decoder says %d columns", b, i, len(r), got.m.Cols)
				}
				for j, v := range r {
					if g := got.m.At(i, j); g != v {
						t.Fatalf("%q: (%d,%d) = %v, encoding/json %v", b, i, j, g, v)
					}
				}
			}
			return
		}
		if gotErr != nil {
			if _, ok := gotErr.(*rowsError); !ok {
				t.Fatalf("%q: error of type %T: %v", b, gotErr, gotErr)
			}
		}
		if wantErr == nil && want != nil && !bytes.Contains(b, []byte("null")) {
			width := -1
			for _, r := range want {
				if width >= 0 && len(r) != width {
					return // ragged: refused on purpose
				}
				width = len(r)
			}
			t.Fatalf("%q: refused (%v), encoding/json decodes it to %v", b, gotErr, want)
		}
	})
}

// FuzzTrainAndCreate posts arbitrary bodies to the detector and train endpoints: every answer
// is a 2xx or a 4xx with a JSON error, never a 5xx or a panic. Training budgets are small, so
// that any parameters the fuzzer finds are refused rather than fitted at length.
func FuzzTrainAndCreate(f *testing.F) {
	e := newEnv(f, envOpts{cfg: func(c *Config) {
		c.TrainMemoryBudget, c.TrainTimeBudget, c.TrainWait = 64<<20, 2*time.Second, 5*time.Second
	}})
	var d detectorView
	e.do("POST", "/api/v1/detectors", map[string]any{"algorithm": "hbos"}, &d)
	for _, seed := range []string{
		`{"algorithm":"isolation_forest","parameters":{"n_estimators":100000,"max_samples":65536}}`,
		`{"algorithm":"local_outlier_factor","parameters":{"n_neighbors":100000}}`,
		`{"algorithm":"knn","parameters":{"n_neighbors":3},"contamination":0.2,"name":"a\u0000b"}`,
		`{"algorithm":"one_class_svm","parameters":{"gamma":"scale","nu":0.5}}`,
		`{"algorithm":"hbos","parameters":null}`, `{"algorithm":"ecod","parameters":[]}`,
		`{"detector_id":"` + d.ID + `","data":[[1,2],[3,4],[5,6]]}`,
		`{"detector_id":"` + d.ID + `","data":[[1,null],[3,4]]}`,
		`{"detector_id":"` + d.ID + `","data":[[1e308,-1e308],[1e308,1e308],[0,0]]}`,
		`{"detector_id":"` + d.ID + `","dataset_id":"nope"}`,
		`{"detector_id":"x\u0000","data":[[1]]}`,
	} {
		f.Add([]byte(seed))
	}
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api/v1/detectors", "/api/v1/detection/train"} {
			req := httptest.NewRequest("POST", path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: status %d for body %q: %s", path, rec.Code, body, rec.Body.Bytes())
			}
			if rec.Code >= 400 {
				var eb errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code == "" || eb.Error == "" {
					t.Fatalf("%s: %d with body %q: not a JSON error", path, rec.Code, rec.Body.Bytes())
				}
			}
		}
	})
}
