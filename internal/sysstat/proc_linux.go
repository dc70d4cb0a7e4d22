package sysstat

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// RSS is this process's resident set size in bytes (/proc/self/statm); 0 when it cannot be
// read.
func RSS() int64 {
	r, err := OpenRSS(os.Getpid())
	if err != nil {
		return 0
	}
	defer r.Close()
	n, _ := r.Read()
	return n
}

// PeakRSS is this process's peak resident set size in bytes since it started or since the
// last ResetPeakRSS: VmHWM of /proc/self/status, or getrusage's maximum where that cannot be
// read.
func PeakRSS() int64 {
	if v := statusFileKB("/proc/self/status", "VmHWM"); v > 0 {
		return v
	}
	return maxRSS()
}

// ResetPeakRSS asks Linux to reset this process's peak resident set size (VmHWM) to its
// current one; it reports whether the kernel accepted (it is false on other systems, and
// getrusage's maximum, PeakRSS's fallback, is never reset).
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// ProcessPeakRSS is the peak resident set size in bytes of process pid (VmHWM of
// /proc/PID/status; gopsutil does not expose it).
func ProcessPeakRSS(pid int) (int64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("sysstat: process %d: %w", pid, err)
	}
	v := statusKB(b, "VmHWM")
	if v == 0 {
		return 0, fmt.Errorf("sysstat: process %d: no VmHWM in %s", pid, path)
	}
	return v, nil
}

func statusFileKB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return statusKB(b, key)
}

// RSSReader reads one process's resident set size again and again without allocating: it
// keeps /proc/PID/statm open and rereads it into a buffer of its own (elsewhere than Linux it
// asks gopsutil each time). The parent's watch on a child's memory reads it every few
// milliseconds. It is not safe for concurrent use.
type RSSReader struct {
	pid  int
	f    *os.File
	page int64
	buf  [160]byte // a statm line is seven numbers
}

// OpenRSS opens the resident set size of process pid for reading.
func OpenRSS(pid int) (*RSSReader, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return nil, fmt.Errorf("sysstat: process %d: %w", pid, err)
	}
	return &RSSReader{pid: pid, f: f, page: int64(os.Getpagesize())}, nil
}

// Read returns the process's resident set size in bytes now.
func (r *RSSReader) Read() (int64, error) {
	n, err := r.f.ReadAt(r.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("sysstat: process %d: %w", r.pid, err)
	}
	pages, ok := parseStatmRSS(r.buf[:n])
	if !ok {
		return 0, fmt.Errorf("sysstat: process %d: unreadable statm %q", r.pid, r.buf[:n])
	}
	return pages * r.page, nil
}

// Close closes the process's file.
func (r *RSSReader) Close() error { return r.f.Close() }

// held reports whether the reader holds a file descriptor open.
func (r *RSSReader) held() bool { return true }
