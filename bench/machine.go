package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Machine describes where a result was measured, so figures from different machines are
// never compared unawares.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"` // logical CPUs (runtime.NumCPU)
	MemoryBytes uint64 `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
}

// CurrentMachine describes this machine. CPU model and memory come from /proc on Linux and
// are "unknown" and 0 elsewhere.
func CurrentMachine() Machine {
	m := Machine{
		CPUModel: "unknown", Cores: runtime.NumCPU(), GoVersion: runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH,
	}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPUModel = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, err := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64)
		if err == nil {
			m.MemoryBytes = kb << 10
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file, or "".
func procField(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// BuildVersion describes the running binary from its build information: the main module's
// version and, when the build recorded them, the VCS revision and whether the tree was
// modified. It returns "unknown" when the binary carries no build information.
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v
}
