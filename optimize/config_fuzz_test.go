package optimize

import "testing"

// FuzzParseConfig feeds configuration files in both formats to the loader: it must return a
// valid Config or an error, never panic, and what it accepts must pass Validate.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"", "enable_caching: true\ncache_ttl: 1h\ncache_size_mb: 512\nmax_workers: 0\nbatch_size: 256\nbatch_wait: 0s\nchunk_rows: 8192\nmemory_limit_mb: 2048\n",
		"cache_ttl: 3600\n", "batch_wait: [1, 2]\n", "max_workers: !!binary AAAA\n", "&a x: *a\n",
		`{"enable_caching": true, "cache_ttl": "1h", "batch_size": 10}`, `{"cache_ttl": 1e308}`, `{"x": 1}`, `[]`, `{"batch_size": 1}]`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := FormatYAML
		if isJSON {
			format = FormatJSON
		}
		c, err := ParseConfig(data, format)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a config Validate refuses: %v", err)
		}
	})
}
