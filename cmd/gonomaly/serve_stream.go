package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/server"
)

// streamServeFlags are serve's bounds of POST /api/v1/detection/stream (docs/api.md). Zero
// means the server's default.
type streamServeFlags struct {
	maxStreams  int
	batchRows   int
	idle        time.Duration
	maxDuration time.Duration
}

// Upper bounds of the stream flags: each stream reserves about 10 MiB of the in-flight bytes,
// and a batch holds at most 8 MiB of values whatever its row count.
const (
	maxStreamsMax   = 4096
	streamBatchMax  = 1 << 16
	streamMaxLength = 7 * 24 * time.Hour
)

func (f *streamServeFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&f.maxStreams, "max-streams", 0, fmt.Sprintf("most detection streams served at once; past it 503 with Retry-After (0: the default, %d; at most %d)", server.DefaultMaxStreams, maxStreamsMax))
	fl.IntVar(&f.batchRows, "stream-batch-rows", 0, fmt.Sprintf("most rows of a stream scored and answered at once (0: the default, %d; at most %d)", server.DefaultStreamBatchRows, streamBatchMax))
	fl.DurationVar(&f.idle, "stream-idle-timeout", 0, fmt.Sprintf("a stream whose client sends nothing, or takes none of its answer, this long is ended (0: the default, %s)", detector.HumanDuration(server.DefaultStreamIdleTimeout)))
	fl.DurationVar(&f.maxDuration, "stream-max-duration", 0, fmt.Sprintf("longest one stream may last (0: the default, %s; at most %s)", detector.HumanDuration(server.DefaultStreamMaxDuration), detector.HumanDuration(streamMaxLength)))
}

func (f *streamServeFlags) check() error {
	switch {
	case f.maxStreams < 0 || f.maxStreams > maxStreamsMax:
		return usagef("--max-streams %d: must be from 1 to %d (0: the default, %d)", f.maxStreams, maxStreamsMax, server.DefaultMaxStreams)
	case f.batchRows < 0 || f.batchRows > streamBatchMax:
		return usagef("--stream-batch-rows %d: must be from 1 to %d (0: the default, %d)", f.batchRows, streamBatchMax, server.DefaultStreamBatchRows)
	case f.idle < 0:
		return usagef("--stream-idle-timeout %v: must not be negative (0: the default)", f.idle)
	case f.maxDuration < 0 || f.maxDuration > streamMaxLength:
		return usagef("--stream-max-duration %v: must be from 0 (the default) to %s", f.maxDuration, detector.HumanDuration(streamMaxLength))
	}
	return nil
}

// apply sets the stream bounds of cfg.
func (f *streamServeFlags) apply(cfg *server.Config) {
	cfg.MaxStreams, cfg.StreamBatchRows = f.maxStreams, f.batchRows
	cfg.StreamIdleTimeout, cfg.StreamMaxDuration = f.idle, f.maxDuration
}
