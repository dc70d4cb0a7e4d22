package sysstat

import (
	"context"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// System is the machine's load and memory at one moment.
type System struct {
	Load1, Load5, Load15 float64 // run-queue averages over 1, 5 and 15 minutes; 0 when unknown
	MemTotal             int64   // physical memory in bytes
	MemAvailable         int64   // memory available to new work without swapping, in bytes
}

// SystemNow reads the machine's load and memory through gopsutil. It allocates (gopsutil
// opens and splits its files each call): call it at a human pace, once a second, not in a
// tight loop. A figure the system does not give is 0.
func SystemNow(ctx context.Context) (System, error) {
	var s System
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return s, err
	}
	s.MemTotal, s.MemAvailable = int64(vm.Total), int64(vm.Available)
	if avg, err := load.AvgWithContext(ctx); err == nil {
		s.Load1, s.Load5, s.Load15 = avg.Load1, avg.Load5, avg.Load15
	}
	return s, nil
}
