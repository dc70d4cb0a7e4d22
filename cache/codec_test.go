package cache

import (
	"bytes"
	"errors"
	"testing"
)

func TestCodec(t *testing.T) {
	tests := []struct {
		name       string
		val        []byte
		above      int
		wantHeader byte
	}{
		{"empty", []byte{}, 1024, codecRaw},
		{"small", []byte("abc"), 1024, codecRaw},
		{"compressible, below", bytes.Repeat([]byte("ab"), 500), 1024, codecRaw},
		{"compressible, above", bytes.Repeat([]byte("ab"), 600), 1024, codecS2},
		{"compression off", bytes.Repeat([]byte("ab"), 600), -1, codecRaw},
		{"incompressible", randomBytes(2048), 1024, codecRaw},
		{"detection result", detectionResult(500), 1024, codecS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encode(tt.val, tt.above)
			if enc[0] != tt.wantHeader {
				t.Errorf("header %d, want %d", enc[0], tt.wantHeader)
			}
			if tt.wantHeader == codecRaw && len(enc) != len(tt.val)+1 {
				t.Errorf("raw value stored in %d bytes, want %d", len(enc), len(tt.val)+1)
			}
			dec, err := decode(enc)
			if err != nil || !bytes.Equal(dec, tt.val) {
				t.Errorf("decode(encode(v)) = %d bytes, %v; want the %d bytes of v", len(dec), err, len(tt.val))
			}
		})
	}
}

func TestDecodeBad(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {2, 'x'}, {codecS2, 0xff, 0xff, 0xff}} {
		if _, err := decode(b); !errors.Is(err, errCodec) {
			t.Errorf("decode(%v): err = %v, want errCodec", b, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{codecRaw, 'a'})
	f.Add(encode(detectionResult(50), 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(b)
		if err != nil {
			return
		}
		// What decodes must survive a round trip.
		if back, err := decode(encode(v, 16)); err != nil || !bytes.Equal(back, v) {
			t.Fatalf("round trip of a decoded value failed: %v", err)
		}
	})
}
