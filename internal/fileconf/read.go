package fileconf

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular is ReadFile's error for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is ReadFile's error for a file over its bound.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads the configuration file at path, of at most max bytes. Only a regular file is
// read: opening a FIFO waits for a writer, and a device may never end. A file over max bytes
// is an error wrapping ErrTooLarge ("larger than N bytes"), found without reading more than
// max+1 of them.
func ReadFile(path string, max int64) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}
