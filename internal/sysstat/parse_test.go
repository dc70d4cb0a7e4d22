package sysstat

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/shirou/gopsutil/v4/common"
)

// fixture is a context that points gopsutil at a fixture /proc (and at no /sys).
func fixture(t *testing.T, proc string) context.Context {
	t.Helper()
	return context.WithValue(context.Background(), common.EnvKey, common.EnvMap{
		common.HostProcEnvKey: filepath.Join("testdata", proc),
		common.HostSysEnvKey:  filepath.Join("testdata", "no-sys"),
	})
}

func TestParseStatmRSS(t *testing.T) {
	for _, tc := range []struct {
		line  string
		pages int64
		ok    bool
	}{
		{"314572 16023 3530 1 0 52987 0\n", 16023, true},
		{"314572 16023", 16023, true},
		{"0 0 0 0 0 0 0\n", 0, true}, // a zombie
		{"314572\n", 0, false},
		{"", 0, false},
		{"314572 x 3530\n", 0, false},
		{"314572 12a 3530\n", 0, false},
		{"1 99999999999999999999 0\n", 0, false}, // overflows int64
	} {
		pages, ok := parseStatmRSS([]byte(tc.line))
		if pages != tc.pages || ok != tc.ok {
			t.Errorf("parseStatmRSS(%q) = %d, %v; want %d, %v", tc.line, pages, ok, tc.pages, tc.ok)
		}
	}
}

func TestStatusKB(t *testing.T) {
	b, err := os.ReadFile("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want int64
	}{
		{"VmHWM", 123456 << 10},
		{"VmRSS", 65432 << 10},
		{"VmLck", 0},
		{"VmSwap", 0},        // absent
		{"Name", 0},          // not a number
		{"VmHW", 0},          // a prefix of a key is not the key
		{"Threads", 9 << 10}, // any numeric field is read as kB: callers ask for kB fields
	} {
		if got := statusKB(b, tc.key); got != tc.want {
			t.Errorf("statusKB(%s) = %d, want %d", tc.key, got, tc.want)
		}
	}
	if got := statusKB([]byte("VmHWM:\t  77 kB"), "VmHWM"); got != 77<<10 {
		t.Errorf("last line without newline: %d, want %d", got, 77<<10)
	}
}

func TestCgroupLimit(t *testing.T) {
	for _, tc := range []struct {
		file string
		want int64
	}{
		{"v2-max", 0},
		{"v2-2g", 2 << 30},
		{"v1-unlimited", 0},
		{"empty", 0},
		{"garbage", 0},
		{"absent", 0},
	} {
		if got := cgroupLimit(filepath.Join("testdata", "cgroup", tc.file)); got != tc.want {
			t.Errorf("cgroupLimit(%s) = %d, want %d", tc.file, got, tc.want)
		}
	}
}

func TestMemoryLimitFixture(t *testing.T) {
	const machine = 24683664 << 10 // MemTotal of testdata/proc-x86/meminfo
	cg := func(name string) string { return filepath.Join("testdata", "cgroup", name) }
	for _, tc := range []struct {
		name   string
		proc   string
		limits []string
		want   int64
	}{
		{"machine only", "proc-x86", nil, machine},
		{"no cgroup limit", "proc-x86", []string{cg("v2-max"), cg("v1-unlimited")}, machine},
		{"cgroup below the machine", "proc-x86", []string{cg("v2-max"), cg("v2-2g")}, 2 << 30},
		{"cgroup only", "absent", []string{cg("v2-2g")}, 2 << 30},
		{"nothing known", "absent", []string{cg("absent")}, FallbackMemory},
	} {
		if got := memoryLimit(hostMemory(fixture(t, tc.proc)), tc.limits); got != tc.want {
			t.Errorf("%s: memoryLimit = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCurrentMachineFixture(t *testing.T) {
	for _, tc := range []struct {
		proc  string
		model string
		mem   uint64
	}{
		{"proc-x86", "Intel(R) Xeon(R) Processor", 24683664 << 10},
		{"proc-arm", "Neoverse-N1", 8048492 << 10}, // gopsutil names the part from its number
		{"absent", "unknown", 0},
	} {
		m := currentMachine(fixture(t, tc.proc))
		if m.CPUModel != tc.model || m.MemoryBytes != tc.mem {
			t.Errorf("%s: model %q, memory %d; want %q, %d", tc.proc, m.CPUModel, m.MemoryBytes, tc.model, tc.mem)
		}
		if m.Cores < 1 || m.GOMAXPROCS < 1 || m.GoVersion == "" || m.OS == "" || m.Arch == "" {
			t.Errorf("%s: runtime fields missing: %+v", tc.proc, m)
		}
	}
}

// dirents builds a getdents64 buffer of the given names.
func dirents(names ...string) []byte {
	var b []byte
	for _, n := range names {
		reclen := (19 + len(n) + 1 + 7) &^ 7
		rec := make([]byte, reclen)
		binary.NativeEndian.PutUint64(rec[0:], 1)
		binary.NativeEndian.PutUint16(rec[16:], uint16(reclen))
		rec[18] = 10 // DT_LNK
		copy(rec[19:], n)
		b = append(b, rec...)
	}
	return b
}

func TestCountDirents(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  int
	}{
		{nil, 0},
		{[]string{".", ".."}, 0},
		{[]string{".", "..", "0", "1", "2"}, 3},
		{[]string{"0", "..x", ".a", "12345678901234567890"}, 4},
	} {
		if got := countDirents(dirents(tc.names...)); got != tc.want {
			t.Errorf("countDirents(%q) = %d, want %d", tc.names, got, tc.want)
		}
	}
	// A truncated record is not counted and does not panic.
	b := dirents("0", "1")
	if got := countDirents(b[:len(b)-3]); got != 1 {
		t.Errorf("truncated buffer: %d, want 1", got)
	}
	if got := countDirents([]byte{1, 2, 3}); got != 0 {
		t.Errorf("short buffer: %d, want 0", got)
	}
}
