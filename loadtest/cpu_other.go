//go:build !unix

package loadtest

import "time"

// processCPU is not measured here: Result.GeneratorCPUSeconds stays 0.
func processCPU() time.Duration { return 0 }
