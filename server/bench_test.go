package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPredict is the service's cost of one predict request, routing, auth, limits,
// decoding, scoring, the result handed to the writer and the answer, without the network:
// the handler is called directly. One row goes through the micro-batcher; 100 rows are scored
// at once.
func BenchmarkPredict(b *testing.B) {
	for _, bc := range []struct {
		name string
		rows int
	}{{"rows=1", 1}, {"rows=100", 100}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, envOpts{})
			id := e.createAndTrain("isolation_forest", nil, rows(1000, 8, 1))
			body, _ := json.Marshal(map[string]any{"detector_id": id, "data": rows(bc.rows, 8, 2)})
			h := e.srv.Handler()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/api/v1/detection/predict", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
					}
				}
			})
		})
	}
}
