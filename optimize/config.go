package optimize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gonomaly/gonomaly/internal/fileconf"
)

// Config is the optimization engine's configuration, the seed's OptimizationConfig in Go:
// what `gonomaly serve --optimize FILE` and `gonomaly detect --optimize FILE` read, and what a
// library user can turn into the options of each tool (MemoOptions, BatchOptions, MapOptions,
// GuardOptions). The seed's enable_parallel_processing, enable_batch_processing and
// enable_memory_optimization switches are max_workers: 1, batch_size: 1 and
// memory_limit_mb: 0 here.
type Config struct {
	// EnableCaching turns memoization on (MemoOptions.Disabled is its negation).
	EnableCaching bool `yaml:"enable_caching" json:"enable_caching"`
	// CacheTTL is how long a cached result lives (1s to 30 days).
	CacheTTL time.Duration `yaml:"cache_ttl" json:"cache_ttl"`
	// CacheSizeMB bounds a cache in MiB (1 to 1048576).
	CacheSizeMB int `yaml:"cache_size_mb" json:"cache_size_mb"`
	// MaxWorkers is how many goroutines parallel work uses (0: GOMAXPROCS; at most 4096).
	MaxWorkers int `yaml:"max_workers" json:"max_workers"`
	// BatchSize is the most items in one micro-batch (1 to 65536).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// BatchWait is how long a micro-batch waits for more items (0 to 1s; 0: take what is
	// queued, adding no latency).
	BatchWait time.Duration `yaml:"batch_wait" json:"batch_wait"`
	// ChunkRows is how many rows streaming reads and scores at a time (1 to 4194304).
	ChunkRows int `yaml:"chunk_rows" json:"chunk_rows"`
	// MemoryLimitMB is the process's memory limit in MiB (0: none; at most 16777216): the
	// resident set past which a MemoryGuard holds new work back, and the Go runtime's soft
	// memory limit (debug.SetMemoryLimit) where the commands apply it.
	MemoryLimitMB int `yaml:"memory_limit_mb" json:"memory_limit_mb"`
}

// Defaults of Config and of the tools' options.
const (
	DefaultCacheTTL    = time.Hour
	DefaultCacheSizeMB = 256
	DefaultBatchSize   = 256
	DefaultChunkRows   = 8192 // dataset.DefaultChunkRows
)

// Bounds of Config's fields: past them a typo would cost memory or time rather than configure
// anything.
const (
	maxCacheTTL      = 30 * 24 * time.Hour
	maxCacheSizeMB   = 1 << 20
	maxWorkers       = 4096
	maxBatchSize     = 1 << 16
	maxBatchWait     = time.Second
	maxChunkRows     = 1 << 22 // detect's --chunk-rows bound
	maxMemoryLimitMB = 1 << 24
)

// Defaults returns the configuration the commands use without a file: caching on for an hour
// in 256 MiB, every core, batches of up to 256 without waiting, chunks of 8192 rows, no memory
// limit.
func Defaults() Config {
	return Config{
		EnableCaching: true,
		CacheTTL:      DefaultCacheTTL,
		CacheSizeMB:   DefaultCacheSizeMB,
		BatchSize:     DefaultBatchSize,
		ChunkRows:     DefaultChunkRows,
	}
}

// Validate reports the first field out of its bounds; the error names the field as a
// configuration file spells it, with its range.
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("optimize config: %w", err)
	}
	return nil
}

func (c Config) validate() error {
	switch {
	case c.CacheTTL < time.Second || c.CacheTTL > maxCacheTTL:
		return fmt.Errorf("cache_ttl %v: must be from 1s to %v", c.CacheTTL, maxCacheTTL)
	case c.CacheSizeMB < 1 || c.CacheSizeMB > maxCacheSizeMB:
		return fmt.Errorf("cache_size_mb %d: must be from 1 to %d", c.CacheSizeMB, maxCacheSizeMB)
	case c.MaxWorkers < 0 || c.MaxWorkers > maxWorkers:
		return fmt.Errorf("max_workers %d: must be from 0 (every core) to %d", c.MaxWorkers, maxWorkers)
	case c.BatchSize < 1 || c.BatchSize > maxBatchSize:
		return fmt.Errorf("batch_size %d: must be from 1 to %d", c.BatchSize, maxBatchSize)
	case c.BatchWait < 0 || c.BatchWait > maxBatchWait:
		return fmt.Errorf("batch_wait %v: must be from 0 to %v", c.BatchWait, maxBatchWait)
	case c.ChunkRows < 1 || c.ChunkRows > maxChunkRows:
		return fmt.Errorf("chunk_rows %d: must be from 1 to %d", c.ChunkRows, maxChunkRows)
	case c.MemoryLimitMB < 0 || c.MemoryLimitMB > maxMemoryLimitMB:
		return fmt.Errorf("memory_limit_mb %d: must be from 0 (no limit) to %d", c.MemoryLimitMB, maxMemoryLimitMB)
	}
	return nil
}

// MemoOptions are the options of a Memo with its own cache.
func (c Config) MemoOptions() MemoOptions {
	return MemoOptions{Disabled: !c.EnableCaching, TTL: c.CacheTTL, SizeMB: c.CacheSizeMB}
}

// BatchOptions are the options of a Batcher.
func (c Config) BatchOptions() BatchOptions {
	return BatchOptions{MaxBatch: c.BatchSize, MaxWait: c.BatchWait, Workers: c.MaxWorkers}
}

// MapOptions are the options of Map (the chunk size stays Map's default: ChunkRows counts
// rows of a file, not items of a slice).
func (c Config) MapOptions() MapOptions { return MapOptions{Workers: c.MaxWorkers} }

// GuardOptions are the options of a MemoryGuard on the resident set, freeing memory once at
// each crossing; ok is false when there is no memory limit.
func (c Config) GuardOptions() (o GuardOptions, ok bool) {
	if c.MemoryLimitMB == 0 {
		return o, false
	}
	return GuardOptions{RSSBytes: int64(c.MemoryLimitMB) << 20, FreeOnCross: true}, true
}

// MaxConfigFileBytes is the largest configuration file LoadConfig reads.
const MaxConfigFileBytes = 1 << 20

// Formats of ParseConfig.
const (
	FormatYAML = "yaml"
	FormatJSON = "json"
)

// LoadConfig reads a configuration from a YAML file (.yaml, .yml) or a JSON file (.json), over
// Defaults: a field the file leaves out keeps its default. Durations are strings ("1h",
// "500us") or numbers of seconds. The reading is strict: an unknown field, a value of the
// wrong type and every value Validate refuses are errors naming the file and the field (and
// the line, for YAML); so is a file larger than MaxConfigFileBytes or not a regular file. A
// YAML example:
//
//	enable_caching: true
//	cache_ttl: 1h
//	cache_size_mb: 512
//	max_workers: 0        # every core
//	batch_size: 256
//	batch_wait: 0s
//	chunk_rows: 8192
//	memory_limit_mb: 2048
func LoadConfig(path string) (Config, error) {
	c, err := loadConfig(path)
	if err != nil {
		return Config{}, fmt.Errorf("optimize config %s: %w", path, err)
	}
	return c, nil
}

func loadConfig(path string) (Config, error) {
	var format string
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		format = FormatYAML
	case ".json":
		format = FormatJSON
	default:
		return Config{}, fmt.Errorf("extension %q: want .yaml, .yml or .json", ext)
	}
	b, err := fileconf.ReadFile(path, MaxConfigFileBytes)
	if err != nil {
		return Config{}, err
	}
	return parseConfig(b, format)
}

// ParseConfig reads a configuration from data in format (FormatYAML or FormatJSON) over
// Defaults, as LoadConfig reads a file.
func ParseConfig(data []byte, format string) (Config, error) {
	c, err := parseConfig(data, format)
	if err != nil {
		return Config{}, fmt.Errorf("optimize config: %w", err)
	}
	return c, nil
}

func parseConfig(b []byte, format string) (Config, error) {
	if len(b) > MaxConfigFileBytes {
		return Config{}, fmt.Errorf("larger than %d bytes", MaxConfigFileBytes)
	}
	var file configFile
	var err error
	switch format {
	case FormatJSON:
		err = file.decodeJSON(b)
	case FormatYAML:
		err = file.decodeYAML(b)
	default:
		return Config{}, fmt.Errorf("format %q: want %q or %q", format, FormatYAML, FormatJSON)
	}
	if err != nil {
		return Config{}, err
	}
	c := file.apply(Defaults())
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// configFile is a configuration file: a nil field is one the file leaves out.
type configFile struct {
	EnableCaching *bool         `yaml:"enable_caching" json:"enable_caching"`
	CacheTTL      *fileDuration `yaml:"cache_ttl" json:"cache_ttl"`
	CacheSizeMB   *int          `yaml:"cache_size_mb" json:"cache_size_mb"`
	MaxWorkers    *int          `yaml:"max_workers" json:"max_workers"`
	BatchSize     *int          `yaml:"batch_size" json:"batch_size"`
	BatchWait     *fileDuration `yaml:"batch_wait" json:"batch_wait"`
	ChunkRows     *int          `yaml:"chunk_rows" json:"chunk_rows"`
	MemoryLimitMB *int          `yaml:"memory_limit_mb" json:"memory_limit_mb"`
}

// fields are the destinations of the file's fields by name.
func (f *configFile) fields() map[string]any {
	return map[string]any{
		"enable_caching": &f.EnableCaching, "cache_ttl": &f.CacheTTL, "cache_size_mb": &f.CacheSizeMB,
		"max_workers": &f.MaxWorkers, "batch_size": &f.BatchSize, "batch_wait": &f.BatchWait,
		"chunk_rows": &f.ChunkRows, "memory_limit_mb": &f.MemoryLimitMB,
	}
}

// fieldNames lists the fields for the error about an unknown one.
const fieldNames = "enable_caching, cache_ttl, cache_size_mb, max_workers, batch_size, batch_wait, chunk_rows, memory_limit_mb"

// decodeYAML reads a YAML mapping field by field, so that every error names its field; an
// empty document is no field.
func (f *configFile) decodeYAML(b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of fields (%s)", m.Line, fieldNames)
	}
	dst, seen := f.fields(), map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := k.Value
		p, ok := dst[name]
		switch {
		case k.Kind != yaml.ScalarNode || !ok:
			return fmt.Errorf("line %d: unknown field %.40q: want one of %s", k.Line, name, fieldNames)
		case seen[name]:
			return fmt.Errorf("line %d: %s is given twice", k.Line, name)
		}
		seen[name] = true
		if err := v.Decode(p); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// decodeJSON reads a JSON object field by field, so that every error names its field.
func (f *configFile) decodeJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil {
		return fmt.Errorf("json: %w", err)
	} else if t != json.Delim('{') {
		return fmt.Errorf("json: want an object of fields (%s)", fieldNames)
	}
	dst, seen := f.fields(), map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("json: %w", err)
		}
		name, _ := t.(string)
		p, ok := dst[name]
		switch {
		case !ok:
			return fmt.Errorf("json: unknown field %.40q: want one of %s", name, fieldNames)
		case seen[name]:
			return fmt.Errorf("json: %s is given twice", name)
		}
		seen[name] = true
		if err := dec.Decode(p); err != nil {
			return fmt.Errorf("json: %s: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return fmt.Errorf("json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("json: more after the configuration's object")
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (f *configFile) apply(c Config) Config {
	setIf(&c.EnableCaching, f.EnableCaching)
	if f.CacheTTL != nil {
		c.CacheTTL = time.Duration(*f.CacheTTL)
	}
	setIf(&c.CacheSizeMB, f.CacheSizeMB)
	setIf(&c.MaxWorkers, f.MaxWorkers)
	setIf(&c.BatchSize, f.BatchSize)
	if f.BatchWait != nil {
		c.BatchWait = time.Duration(*f.BatchWait)
	}
	setIf(&c.ChunkRows, f.ChunkRows)
	setIf(&c.MemoryLimitMB, f.MemoryLimitMB)
	return c
}

// fileDuration is a duration in a configuration file: "60s", "500us" or seconds.
type fileDuration = fileconf.Duration
