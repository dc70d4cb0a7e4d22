package fileconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, 11), 0o600); err != nil {
		t.Fatal(err)
	}
	exact := filepath.Join(dir, "exact.yaml")
	if err := os.WriteFile(exact, make([]byte, 10), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want error
		n    int
	}{
		{path: small, n: 5},
		{path: exact, n: 10},
		{path: big, want: ErrTooLarge},
		{path: dir, want: ErrNotRegular},
		{path: fifo, want: ErrNotRegular}, // refused without opening it (which would wait for a writer)
		{path: "/dev/zero", want: ErrNotRegular},
		{path: filepath.Join(dir, "missing.yaml"), want: fs.ErrNotExist},
	} {
		done := make(chan struct{})
		var (
			b   []byte
			err error
		)
		go func() { b, err = ReadFile(tt.path, 10); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: ReadFile still blocked after 10 s", tt.path)
		}
		if tt.want != nil {
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: error %v, want %v", tt.path, err, tt.want)
			}
			continue
		}
		if err != nil || len(b) != tt.n {
			t.Errorf("%s: %d bytes, %v; want %d", tt.path, len(b), err, tt.n)
		}
	}
}
