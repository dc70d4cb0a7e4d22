package sysstat

import (
	"context"
	"runtime"

	"github.com/shirou/gopsutil/v4/cpu"
)

// Machine is the fingerprint of the machine and runtime a figure was measured on, so that
// figures from different machines are never compared unawares.
type Machine struct {
	CPUModel    string // "unknown" when the system does not say
	Cores       int    // logical CPUs this process may use (runtime.NumCPU)
	MemoryBytes uint64 // physical memory; 0 when unknown
	GoVersion   string
	GOMAXPROCS  int
	OS          string
	Arch        string
}

// CurrentMachine describes this machine. The CPU model and the memory come from gopsutil
// (/proc/cpuinfo and /proc/meminfo on Linux, sysctl or the system's API elsewhere).
func CurrentMachine() Machine {
	return currentMachine(context.Background())
}

func currentMachine(ctx context.Context) Machine {
	m := Machine{
		CPUModel: "unknown", Cores: runtime.NumCPU(), MemoryBytes: hostMemory(ctx),
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH,
	}
	// Info may return the CPUs it parsed with an error about a later one.
	if info, _ := cpu.InfoWithContext(ctx); len(info) > 0 && info[0].ModelName != "" {
		m.CPUModel = info[0].ModelName
	}
	return m
}
