package cluster

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzDecodeJob: any bytes from the queue decode to a valid job or an error, never a panic;
// a decoded job encodes back to one that decodes to the same.
func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"run":"0123abcd","part":3,"kind":"score","spec":{"model":"models/x"},"submitted":"2026-12-03T00:00:00Z"}`))
	f.Add([]byte(`{"run":"a.b","part":1,"kind":"score","spec":{}}`))
	f.Add([]byte(`{"run":"r","part":-1,"kind":"Score"}`))
	f.Add([]byte(`{"run":"r","part":100001,"kind":"x"}`))
	f.Add([]byte(`{"run":"r","part":0,"kind":"x","spec":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := DecodeJob(b)
		if err != nil {
			return
		}
		if !validRun.MatchString(j.Run) || !validKind.MatchString(j.Kind) || j.Part < 0 || j.Part > MaxParts {
			t.Fatalf("accepted %+v", j)
		}
		again, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeJob(again); err != nil {
			t.Fatalf("re-encoded job does not decode: %v", err)
		}
	})
}

// FuzzDecodeResult: any bytes from the object store decode to matching scores and labels or
// an error, never a panic or a large allocation a short input does not carry.
func FuzzDecodeResult(f *testing.F) {
	good, _ := EncodeResult([]float64{0.5, math.Inf(1), -1}, []int{0, 1, 0})
	f.Add(good)
	nolabel, _ := EncodeResult([]float64{1, 2}, nil)
	f.Add(nolabel)
	empty, _ := EncodeResult(nil, nil)
	f.Add(empty)
	f.Add(good[:len(good)-1])
	f.Add([]byte(resultMagic + "\xff\xff\xff\xff\xff\xff\xff\x7f\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		scores, labels, err := DecodeResult(b)
		if err != nil {
			return
		}
		if labels != nil && len(labels) != len(scores) {
			t.Fatalf("%d labels for %d scores", len(labels), len(scores))
		}
		again, err := EncodeResult(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(b) {
			t.Fatal("decode then encode changed the bytes")
		}
	})
}
