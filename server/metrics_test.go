package server

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Methods a client invents share one label: they cannot add series without end.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, m := range []string{"FOOBAR", "BREW", "X-1"} {
		req, _ := http.NewRequest(m, e.http.URL+"/nowhere", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(text), "FOOBAR") || strings.Contains(string(text), "BREW") {
		t.Error("/metrics carries a made-up method as a label")
	}
	if !strings.Contains(string(text), `method="other"`) {
		t.Error(`/metrics lacks method="other"`)
	}
}

// A value JSON cannot hold is a 500 with an error body, never a 200 with an empty one.
func TestWriteJSONRefusesNaN(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusOK, map[string]float64{"x": math.NaN()})
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Errorf("NaN: %d %q", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	writeJSON(w, http.StatusCreated, map[string]string{"a": "<b>"})
	if w.Code != 201 || w.Body.String() != "{\"a\":\"<b>\"}\n" {
		t.Errorf("plain: %d %q", w.Code, w.Body.String())
	}
}
