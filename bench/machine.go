package bench

import (
	"runtime/debug"

	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// Machine describes where a result was measured, so figures from different machines are
// never compared unawares. It is sysstat.Machine with the names of the documents' JSON.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"` // logical CPUs (runtime.NumCPU)
	MemoryBytes uint64 `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
}

// CurrentMachine describes this machine (sysstat.CurrentMachine: the CPU model is "unknown"
// and the memory 0 where the system does not tell them).
func CurrentMachine() Machine {
	m := sysstat.CurrentMachine()
	return Machine{
		CPUModel: m.CPUModel, Cores: m.Cores, MemoryBytes: m.MemoryBytes, GoVersion: m.GoVersion,
		GOMAXPROCS: m.GOMAXPROCS, OS: m.OS, Arch: m.Arch,
	}
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
