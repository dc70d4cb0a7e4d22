package main

import (
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/optimize"
)

// optimizeDetectFlags is detect's --optimize: an optimization configuration file whose
// chunk_rows, max_workers and memory_limit_mb detect reads.
type optimizeDetectFlags struct {
	file string
}

func (o *optimizeDetectFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.file, "optimize", "", "optimization configuration file (YAML, or JSON for a .json name; docs/optimize.md): chunk_rows, max_workers (cores used) and memory_limit_mb (the process's memory budget); --chunk-rows and --max-memory override it")
}

// apply reads --optimize over optimize.Defaults and gives its values to the detect flags the
// command line leaves unset (defaults < file < flags): chunk_rows to --chunk-rows,
// memory_limit_mb to --max-memory; max_workers bounds the cores the process uses (GOMAXPROCS:
// the detectors fit and score on that many goroutines). A file that cannot be read or holds
// a bad value is a usage error naming the file and the field.
func (o *optimizeDetectFlags) apply(cmd *cobra.Command, f *detectFlags) error {
	if o.file == "" {
		return nil
	}
	c, err := optimize.LoadConfig(o.file)
	if err != nil {
		return usagef("--optimize: %v", err)
	}
	fl := cmd.Flags()
	if !fl.Changed("chunk-rows") {
		f.chunk = c.ChunkRows
	}
	if c.MemoryLimitMB > 0 && !fl.Changed("max-memory") {
		if lim := sysstat.MemoryLimit(); int64(c.MemoryLimitMB)<<20 > lim {
			return usagef("--optimize %s: memory_limit_mb %d is above the %d MiB this process may use", o.file, c.MemoryLimitMB, lim>>20)
		}
		f.maxMemory = byteSize(int64(c.MemoryLimitMB) << 20)
	}
	if c.MaxWorkers > 0 && c.MaxWorkers < runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(c.MaxWorkers)
	}
	return nil
}
