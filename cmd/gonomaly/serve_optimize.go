package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/optimize"
)

// optimizeServeFlags is serve's --optimize: an optimization configuration file whose fields
// fill the serve flags not given on the command line.
type optimizeServeFlags struct {
	file string
	// workers is set by apply: the micro-batcher's workers (0: GOMAXPROCS).
	workers int
}

func (o *optimizeServeFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&o.file, "optimize", "", "optimization configuration file (YAML, or JSON for a .json name; docs/optimize.md): batch_size, batch_wait, cache_size_mb, cache_ttl, max_workers (micro-batch workers) and memory_limit_mb (the Go runtime's soft memory limit); --batch-max, --batch-wait, --cache-mb and --cache-ttl override it")
}

// apply reads --optimize over optimize.Defaults and gives its values to the serve flags the
// command line leaves unset (defaults < file < flags), then applies the memory limit. A file
// that cannot be read or holds a bad value is a usage error naming the file and the field.
func (o *optimizeServeFlags) apply(cmd *cobra.Command, f *serveFlags, log *slog.Logger) error {
	if o.file == "" {
		return nil
	}
	c, err := optimize.LoadConfig(o.file)
	if err != nil {
		return usagef("--optimize: %v", err)
	}
	fl := cmd.Flags()
	if !fl.Changed("batch-max") {
		f.batchMax = c.BatchSize
	}
	if !fl.Changed("batch-wait") {
		f.batchWait = c.BatchWait
	}
	if !fl.Changed("cache-mb") {
		if mem := sysstat.MemoryLimit() >> 20; int64(c.CacheSizeMB) > mem {
			return usagef("--optimize %s: cache_size_mb %d is above the %d MiB this process may use", o.file, c.CacheSizeMB, mem)
		}
		f.cacheMB = c.CacheSizeMB
	}
	if !fl.Changed("cache-ttl") {
		f.cacheTTL = c.CacheTTL // LoadConfig checked it: 1s to 30 days, as --cache-ttl
	}
	o.workers = c.MaxWorkers
	d := optimize.Defaults()
	if !c.EnableCaching {
		// The service's cache of detectors and models is part of how it serves (a retrained
		// model reaches every instance through it).
		log.Warn("--optimize: the service does not use enable_caching (its cache of detectors and models is always on)",
			"enable_caching", c.EnableCaching)
	}
	if c.ChunkRows != d.ChunkRows {
		log.Warn("--optimize: chunk_rows is for gonomaly detect; the service does not use it", "chunk_rows", c.ChunkRows)
	}
	switch {
	case c.MemoryLimitMB > 0 && os.Getenv("GOMEMLIMIT") != "":
		log.Warn("--optimize: memory_limit_mb is not applied: GOMEMLIMIT is set in the environment", "memory_limit_mb", c.MemoryLimitMB)
	case c.MemoryLimitMB > 0:
		// The garbage collector works harder as the heap nears the limit (as GOMEMLIMIT).
		debug.SetMemoryLimit(int64(c.MemoryLimitMB) << 20)
	}
	log.Info("--optimize", "file", o.file, "batch_max", f.batchMax, "batch_wait", f.batchWait,
		"cache_mb", f.cacheMB, "cache_ttl", f.cacheTTL, "batch_workers", o.workers, "memory_limit_mb", c.MemoryLimitMB)
	return nil
}
