// Package sysmem tells how much memory this process may use: the machine's physical memory,
// or less where a cgroup (a container's limit) caps it. The service and the CLI derive their
// default resource budgets from it.
package sysmem

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Fallback is what Total returns where neither /proc/meminfo nor a cgroup limit can be read
// (not Linux, or a sandbox that hides them): a size most machines that run a service have.
const Fallback int64 = 4 << 30

// Total returns the memory available to this process in bytes: the smaller of the machine's
// physical memory (/proc/meminfo MemTotal) and the cgroup's limit (v2 memory.max, v1
// memory.limit_in_bytes), or Fallback when neither is known.
func Total() int64 {
	total := meminfo("/proc/meminfo")
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if lim := cgroupLimit(p); lim > 0 && (total == 0 || lim < total) {
			total = lim
		}
	}
	if total <= 0 {
		return Fallback
	}
	return total
}

// meminfo reads MemTotal (in kB) from a meminfo file; 0 when it cannot.
func meminfo(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "MemTotal" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil || kb <= 0 {
			return 0
		}
		return kb << 10
	}
	return 0
}

// cgroupLimit reads a cgroup memory limit in bytes; 0 when there is none ("max", or v1's
// huge "unlimited" value) or it cannot be read.
func cgroupLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0
	}
	return n
}
