package sysstat

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/shirou/gopsutil/v4/mem"
)

// FallbackMemory is what MemoryLimit returns where neither the machine's memory nor a cgroup
// limit can be read (a sandbox that hides them): a size most machines that run a service have.
const FallbackMemory int64 = 4 << 30

// cgroupLimits are the files a container's memory limit is read from: cgroup v2's memory.max,
// then v1's memory.limit_in_bytes.
var cgroupLimits = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// MemoryLimit returns the memory available to this process in bytes: the smaller of the
// machine's physical memory and the cgroup's limit (a container's), or FallbackMemory when
// neither is known. The service and the CLI derive their default budgets from it.
func MemoryLimit() int64 {
	return memoryLimit(machineMemory(), cgroupLimits)
}

// machineMemory is the machine's memory, read once: it does not change while a process runs
// (a container's limit can, and is read on every call). Through gopsutil a read costs about
// 40 µs and 180 allocations (BenchmarkMemoryLimit before this cache), and configuration
// checks, fuzzed, call MemoryLimit often.
var machineMemory = sync.OnceValue(func() uint64 { return hostMemory(context.Background()) })

func memoryLimit(host uint64, limits []string) int64 {
	total := int64(min(host, 1<<62))
	for _, p := range limits {
		if lim := cgroupLimit(p); lim > 0 && (total == 0 || lim < total) {
			total = lim
		}
	}
	if total <= 0 {
		return FallbackMemory
	}
	return total
}

// hostMemory is the machine's physical memory in bytes (gopsutil: /proc/meminfo MemTotal on
// Linux, sysctl or the system's API elsewhere); 0 when it cannot be read.
func hostMemory(ctx context.Context) uint64 {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return 0
	}
	return vm.Total
}

// cgroupLimit reads a cgroup memory limit in bytes; 0 when there is none ("max", or v1's
// huge "unlimited" value) or it cannot be read. gopsutil has no reader for it.
func cgroupLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0
	}
	return n
}
