//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

// processCPU is the CPU time, user and system, this process has used so far (0 when the
// kernel does not say). It is internal/sysstat.CPUTime's getrusage call, repeated here
// because the load generator depends on no other package of the project (architecture.md).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
