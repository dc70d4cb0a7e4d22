package bench

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	rev := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "ede654e1f2a3b4c5d6e7f8091a2b3c4d5e6f7081"}}
	for _, tc := range []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"clean tree", "(devel)", append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "false"}), "(devel) ede654e1f2a3"},
		{"modified tree", "(devel)", append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "(devel) ede654e1f2a3+dirty"},
		{"tagged module", "v1.2.3", rev, "v1.2.3 ede654e1f2a3"},
		{"short revision", "", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "(devel) abc"},
		{"no stamp", "", []debug.BuildSetting{{Key: "-buildvcs", Value: "false"}}, "(devel) no-vcs"},
		// go build -buildvcs=true of a work tree: Go's pseudo-version names the commit.
		{"pseudo-version", "v0.0.0-20261203150302-ede654e1f2a3+dirty", append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "v0.0.0-20261203150302-ede654e1f2a3+dirty"},
	} {
		if got := buildVersion(tc.version, tc.settings); got != tc.want {
			t.Errorf("%s: buildVersion = %q, want %q", tc.name, got, tc.want)
		}
	}
	// A test binary carries no VCS stamp.
	if got := BuildVersion(); !strings.HasSuffix(got, " no-vcs") && got != "unknown" {
		t.Errorf("BuildVersion() in a test binary = %q, want a no-vcs version", got)
	}
}
