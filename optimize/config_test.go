package optimize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	want := Config{
		EnableCaching: false, CacheTTL: 90 * time.Second, CacheSizeMB: 512, MaxWorkers: 3,
		BatchSize: 64, BatchWait: 500 * time.Microsecond, ChunkRows: 1000, MemoryLimitMB: 2048,
	}
	for _, tc := range []struct{ name, body string }{
		{"full.yaml", "enable_caching: false\ncache_ttl: 90s\ncache_size_mb: 512\nmax_workers: 3\nbatch_size: 64\nbatch_wait: 500us\nchunk_rows: 1000\nmemory_limit_mb: 2048\n"},
		{"seconds.yml", "enable_caching: false\ncache_ttl: 90\ncache_size_mb: 512\nmax_workers: 3\nbatch_size: 64\nbatch_wait: 0.0005\nchunk_rows: 1000\nmemory_limit_mb: 2048\n"},
		{"full.json", `{"enable_caching": false, "cache_ttl": "1m30s", "cache_size_mb": 512, "max_workers": 3, "batch_size": 64, "batch_wait": 0.0005, "chunk_rows": 1000, "memory_limit_mb": 2048}`},
	} {
		got, err := LoadConfig(writeConfig(t, tc.name, tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, want)
		}
	}
	// A field left out keeps its default; an empty file is the defaults.
	got, err := LoadConfig(writeConfig(t, "part.yaml", "batch_size: 32\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	d.BatchSize = 32
	if got != d {
		t.Errorf("partial: got %+v, want %+v", got, d)
	}
	if got, err := LoadConfig(writeConfig(t, "empty.yaml", "")); err != nil || got != Defaults() {
		t.Errorf("empty: %+v, %v", got, err)
	}
}

func TestLoadConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown.yaml", "batch_sise: 10\n", "batch_sise"},
		{"unknown.json", `{"cache_size": 10}`, "cache_size"},
		{"type.yaml", "cache_size_mb: lots\n", "line 1"},
		{"type.json", `{"max_workers": "all"}`, "max_workers"},
		{"ttl.yaml", "cache_ttl: 0s\n", "cache_ttl"},
		{"ttl2.yaml", "cache_ttl: 1000d\n", "cache_ttl"},
		{"size.yaml", "cache_size_mb: 0\n", "cache_size_mb"},
		{"workers.yaml", "max_workers: -1\n", "max_workers"},
		{"workers2.yaml", "max_workers: 100000\n", "max_workers"},
		{"batch.yaml", "batch_size: 0\n", "batch_size"},
		{"wait.yaml", "batch_wait: -1s\n", "batch_wait"},
		{"wait2.json", `{"batch_wait": 1e300}`, "out of range"},
		{"chunk.yaml", "chunk_rows: 0\n", "chunk_rows"},
		{"mem.yaml", "memory_limit_mb: -5\n", "memory_limit_mb"},
		{"list.yaml", "cache_ttl: [1]\n", "duration"},
		{"trailing.json", `{"batch_size": 1} {}`, "more after"},
		{"bool.yaml", "enable_caching: maybe\n", "line 1"},
		{"ext.toml", "batch_size = 1", "extension"},
	} {
		_, err := LoadConfig(writeConfig(t, tc.name, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: got %v, want an error naming the file and %q", tc.name, err, tc.want)
		}
	}
	big := writeConfig(t, "big.yaml", "# "+strings.Repeat("x", MaxConfigFileBytes))
	if _, err := LoadConfig(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	if _, err := LoadConfig(t.TempDir() + "/dir.yaml"); err == nil {
		t.Error("missing file: no error")
	}
	dir := filepath.Join(t.TempDir(), "d.yaml")
	os.Mkdir(dir, 0o700)
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "regular") {
		t.Errorf("directory: %v", err)
	}
}

func TestConfigToOptions(t *testing.T) {
	c := Defaults()
	c.MaxWorkers, c.BatchWait, c.MemoryLimitMB = 3, time.Millisecond, 10
	if b := c.BatchOptions(); b.MaxBatch != 256 || b.MaxWait != time.Millisecond || b.Workers != 3 {
		t.Errorf("BatchOptions %+v", b)
	}
	if m := c.MemoOptions(); m.Disabled || m.TTL != time.Hour || m.SizeMB != 256 {
		t.Errorf("MemoOptions %+v", m)
	}
	if g, ok := c.GuardOptions(); !ok || g.RSSBytes != 10<<20 || !g.FreeOnCross {
		t.Errorf("GuardOptions %+v %v", g, ok)
	}
	if _, ok := Defaults().GuardOptions(); ok {
		t.Error("a guard without a memory limit")
	}
	if m := c.MapOptions(); m.Workers != 3 {
		t.Errorf("MapOptions %+v", m)
	}
}
