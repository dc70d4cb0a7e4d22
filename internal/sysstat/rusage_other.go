//go:build !unix

package sysstat

import (
	"os"
	"time"
)

// CPUTime is the user + system CPU time this process has used (gopsutil: the system's
// process API); 0 where the system does not tell.
func CPUTime() time.Duration {
	d, err := ProcessCPUTime(os.Getpid())
	if err != nil {
		return 0
	}
	return d
}

// maxRSS is not measured on this system.
func maxRSS() int64 { return 0 }
