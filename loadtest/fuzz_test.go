package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadBodies: any input is bodies that are compact JSON objects within the bounds, or an
// ErrTargets error of bounded, valid text.
func FuzzReadBodies(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\"a\":1}\n{\"b\":2}", `[{"a":1},{"b":[1,2]}]`, `[]`, `[1]`, `{"a":`, "\xff{", `[{"a":1}] x`,
		`{"detector_id":"d","data":[[1,2,3]]}`, strings.Repeat("[", 10000), `{"a":"\u0000"}`, "{}{}{}", `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		bodies, err := ReadBodies(bytes.NewReader(in), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrTargets) || len(err.Error()) > 600 || !utf8.ValidString(err.Error()) {
				t.Fatalf("error %q", err)
			}
			return
		}
		if len(bodies) == 0 || len(bodies) > MaxBodies {
			t.Fatalf("%d bodies", len(bodies))
		}
		for _, b := range bodies {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil && !strings.Contains(err.Error(), "cannot unmarshal number") {
				t.Fatalf("body %q is not a JSON object: %v", b, err)
			}
			var c bytes.Buffer
			if json.Compact(&c, b) != nil || !bytes.Equal(c.Bytes(), b) {
				t.Fatalf("body %q is not compact", b)
			}
		}
	})
}

// FuzzErrorCode: an answer's body gives a short word of [a-z0-9_] or nothing, and a status kind
// of bounded length.
func FuzzErrorCode(f *testing.F) {
	for _, s := range []string{`{"error":"x","code":"unavailable"}`, `{"code":"A"}`, `{"code":"` + strings.Repeat("z", 50) + `"}`, `{`, `{"training_time_ms":3}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := errorCode(body)
		if len(c) > 40 || strings.Trim(c, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Fatalf("code %q", c)
		}
		if k := statusKind(503, body); len(k) > 60 || !utf8.ValidString(k) {
			t.Fatalf("kind %q", k)
		}
		if ms, ok := trainingMillis(body); ok && (ms < 0 || ms > 3.6e6) {
			t.Fatalf("training ms %g", ms)
		}
	})
}
