package sysstat

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// The figures of another process come from gopsutil, which reads them on every system it
// supports (/proc on Linux, sysctl or the system's API elsewhere). Each call looks the
// process up afresh and allocates: for a loop that watches a process's memory every few
// milliseconds, OpenRSS.

func proc(ctx context.Context, pid int) (*process.Process, error) {
	p, err := process.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		return nil, fmt.Errorf("sysstat: process %d: %w", pid, err)
	}
	return p, nil
}

// ProcessRSS is the resident set size in bytes of process pid.
func ProcessRSS(pid int) (int64, error) {
	ctx := context.Background()
	p, err := proc(ctx, pid)
	if err != nil {
		return 0, err
	}
	m, err := p.MemoryInfoWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("sysstat: process %d: %w", pid, err)
	}
	return int64(m.RSS), nil
}

// ProcessCPUTime is the user + system CPU time process pid has used.
func ProcessCPUTime(pid int) (time.Duration, error) {
	ctx := context.Background()
	p, err := proc(ctx, pid)
	if err != nil {
		return 0, err
	}
	t, err := p.TimesWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("sysstat: process %d: %w", pid, err)
	}
	return time.Duration((t.User + t.System) * float64(time.Second)), nil
}

// ProcessOpenFiles is the number of file descriptors process pid holds open.
func ProcessOpenFiles(pid int) (int, error) {
	ctx := context.Background()
	p, err := proc(ctx, pid)
	if err != nil {
		return 0, err
	}
	n, err := p.NumFDsWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("sysstat: process %d: %w", pid, err)
	}
	return int(n), nil
}

// Goroutines is the number of goroutines that exist now.
func Goroutines() int { return runtime.NumGoroutine() }
