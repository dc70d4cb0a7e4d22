package bench

import (
	"runtime/debug"
	"strings"

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
// version ("(devel)" for a build from a work tree), then the VCS revision it was built from,
// shortened to 12 hex digits, with "+dirty" when the tree had uncommitted changes: "(devel)
// 1a2b3c4d5e6f+dirty". A binary built without a VCS stamp (go build -buildvcs=false, which
// GOFLAGS may set, or any test binary) says so with "no-vcs" in place of the revision, so that
// figures from unknown commits are not taken for one version; scripts/build.sh builds with the
// stamp. It returns "unknown" when the binary carries no build information.
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return buildVersion(bi.Main.Version, bi.Settings)
}

func buildVersion(v string, settings []debug.BuildSetting) string {
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return v + " no-vcs"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if strings.Contains(v, rev) {
		// Go derives a pseudo-version from the stamp (v0.0.0-<time>-<rev>[+dirty]): it
		// names the commit already.
		return v
	}
	return v + " " + rev + dirty
}
