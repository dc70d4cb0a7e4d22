//go:build unix

package sysstat

import (
	"runtime"
	"syscall"
	"time"
)

// CPUTime is the user + system CPU time this process has used (getrusage RUSAGE_SELF; one
// system call, no allocation). It is 0 where the system does not tell.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is getrusage's peak resident set size in bytes (the kernel reports KiB on Linux and
// the BSDs, bytes on macOS).
func maxRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}
