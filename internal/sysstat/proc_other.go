//go:build !linux

package sysstat

import (
	"errors"
	"fmt"
	"os"
)

// RSS is this process's resident set size in bytes (gopsutil); 0 when it cannot be read.
func RSS() int64 {
	n, err := ProcessRSS(os.Getpid())
	if err != nil {
		return 0
	}
	return n
}

// PeakRSS is this process's peak resident set size in bytes: getrusage's maximum (0 where
// the system does not tell).
func PeakRSS() int64 { return maxRSS() }

// ResetPeakRSS resets the peak resident set size where the system allows it: only Linux
// does, so here it is false.
func ResetPeakRSS() bool { return false }

// errNoPeak: only Linux tells another process's peak resident set.
var errNoPeak = errors.New("peak resident set of another process not available on this system")

// ProcessPeakRSS is the peak resident set size of process pid; this system does not tell it.
func ProcessPeakRSS(pid int) (int64, error) {
	return 0, fmt.Errorf("sysstat: process %d: %w", pid, errNoPeak)
}

// RSSReader reads one process's resident set size again and again; on Linux without
// allocating, here through gopsutil, which allocates on every read. It is not safe for
// concurrent use.
type RSSReader struct {
	pid int
}

// OpenRSS opens the resident set size of process pid for reading.
func OpenRSS(pid int) (*RSSReader, error) {
	if _, err := ProcessRSS(pid); err != nil {
		return nil, err
	}
	return &RSSReader{pid: pid}, nil
}

// Read returns the process's resident set size in bytes now.
func (r *RSSReader) Read() (int64, error) { return ProcessRSS(r.pid) }

// Close releases the reader.
func (r *RSSReader) Close() error { return nil }

// held reports whether the reader holds a file descriptor open.
func (r *RSSReader) held() bool { return false }
