package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/serving"
)

// FuzzTuningBody feeds any body to the admin endpoint's decoder and patch: either a 4xx with a
// short message, or settings inside serving's bounds that SetBatch accepts.
func FuzzTuningBody(f *testing.F) {
	for _, seed := range []string{
		`{"batch_max":32,"batch_wait":"2ms","workers":3}`, `{"workers":1}`, `{"batch_wait":"0s"}`, `{}`, `[]`, `null`,
		`{"batch_max":-1}`, `{"batch_max":1e99}`, `{"batch_wait":"9223372036854775807ns"}`, `{"batch_wait":"1h"}`,
		`{"batch_wait":"-0s"}`, `{"batch_wait":"1.5ms"}`, `{"workers":256}`, `{"workers":2}{}`, `{"x":1}`,
		`{"batch_max":null}`, `{"batch_wait":"\u0000"}`, "{\"batch_wait\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	base := optimize.BatchOptions{MaxBatch: 256, Workers: 2}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("PUT", tuningPath, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var p tuningPatch
		e := decodeJSON(r, &p)
		var got optimize.BatchOptions
		if e == nil {
			got, e = p.apply(base)
		}
		if e != nil {
			if e.Status < 400 || e.Status >= 500 || e.Code == "" || !utf8.ValidString(truncate(e.Msg, maxErrorText)) {
				t.Fatalf("%q: %d %q %q", body, e.Status, e.Code, e.Msg)
			}
			if e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("%q: status %d", body, e.Status)
			}
			return
		}
		if err := serving.ValidateBatch(got); err != nil || got.MaxBatch < 1 || got.Workers < 1 || got.MaxWait < 0 {
			t.Fatalf("%q: accepted %+v: %v", body, got, err)
		}
	})
}
