package sysmem

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMeminfo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, text string
		want       int64
	}{
		{"plain", "MemTotal:       24576000 kB\nMemFree: 1 kB\n", 24576000 << 10},
		{"missing", "MemFree: 1 kB\n", 0},
		{"garbage", "MemTotal: lots kB\n", 0},
		{"negative", "MemTotal: -5 kB\n", 0},
	} {
		if got := meminfo(write(tc.name, tc.text)); got != tc.want {
			t.Errorf("%s: meminfo = %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := meminfo(filepath.Join(dir, "absent")); got != 0 {
		t.Errorf("absent file: %d, want 0", got)
	}
}

func TestCgroupLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text string
		want int64
	}{
		{"max\n", 0},
		{"2147483648\n", 2 << 30},
		{"9223372036854771712\n", 0}, // cgroup v1's "unlimited"
		{"", 0},
	} {
		p := filepath.Join(dir, "limit")
		if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := cgroupLimit(p); got != tc.want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func TestTotalPositive(t *testing.T) {
	if got := Total(); got <= 0 {
		t.Fatalf("Total() = %d, want > 0", got)
	}
}
