package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options configure a Cache. The zero value is a valid L1-only cache of 64 MiB.
type Options struct {
	// MaxBytes bounds L1 by the bytes its entries hold (key, value and a fixed per-entry
	// overhead). MaxEntries bounds it by the number of entries instead. Set at most one; with
	// neither, L1 holds 64 MiB.
	MaxBytes   uint64
	MaxEntries int

	// DefaultTTL is the lifetime of an entry written with a ttl <= 0 (default 1 h).
	DefaultTTL time.Duration
	// L1TTL caps how long an entry lives in L1 (default 5 min, as in the tuning guide's
	// multi-level cache): an entry lives min(ttl, L1TTL) in L1 and ttl in Redis. It bounds how
	// long an L1 copy can outlive a change that reached this instance by no other way (a Set on
	// a peer while the invalidation channel was cut).
	L1TTL time.Duration

	// RedisURL enables L2 (redis://[user:password@]host:port/db, or rediss://); empty means L1
	// only.
	RedisURL string
	// Prefix starts every Redis key and the invalidation channel this cache uses (default
	// "gonomaly:cache:"). Instances that share entries must share the prefix; unrelated caches
	// on one Redis must not.
	Prefix string
	// L2Timeout bounds each Redis dial, read and write (default 200 ms), so that a Redis that
	// hangs costs a request at most this much before the cache stops using it.
	L2Timeout time.Duration
	// CompressAbove is the value length in bytes above which a value is compressed in Redis
	// (default 1024); a negative value turns compression off. L1 holds values uncompressed.
	CompressAbove int
	// ProbeMin and ProbeMax bound the backoff between reconnection attempts while Redis is
	// unreachable (defaults 100 ms and 5 s; the wait doubles after each failed attempt).
	ProbeMin, ProbeMax time.Duration

	// Logger receives one record each time Redis becomes unreachable or reachable again
	// (default: discard).
	Logger *slog.Logger
}

// Defaults of Options' zero fields.
const (
	DefaultMaxBytes      = 64 << 20
	DefaultTTL           = time.Hour
	DefaultL1TTL         = 5 * time.Minute
	DefaultPrefix        = "gonomaly:cache:"
	DefaultL2Timeout     = 200 * time.Millisecond
	DefaultCompressAbove = 1024
	DefaultProbeMin      = 100 * time.Millisecond
	DefaultProbeMax      = 5 * time.Second
)

// ErrOptions is wrapped by every error New returns for invalid Options.
var ErrOptions = errors.New("cache: invalid options")

// withDefaults validates o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxBytes > 0 && o.MaxEntries > 0:
		return o, fmt.Errorf("%w: MaxBytes (%d) and MaxEntries (%d) are both set; set one", ErrOptions, o.MaxBytes, o.MaxEntries)
	case o.MaxEntries < 0:
		return o, fmt.Errorf("%w: MaxEntries %d is negative", ErrOptions, o.MaxEntries)
	case o.DefaultTTL < 0, o.L1TTL < 0, o.L2Timeout < 0, o.ProbeMin < 0, o.ProbeMax < 0:
		return o, fmt.Errorf("%w: negative duration (DefaultTTL %v, L1TTL %v, L2Timeout %v, ProbeMin %v, ProbeMax %v)",
			ErrOptions, o.DefaultTTL, o.L1TTL, o.L2Timeout, o.ProbeMin, o.ProbeMax)
	}
	if o.MaxBytes == 0 && o.MaxEntries == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.DefaultTTL == 0 {
		o.DefaultTTL = DefaultTTL
	}
	if o.L1TTL == 0 {
		o.L1TTL = DefaultL1TTL
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.L2Timeout == 0 {
		o.L2Timeout = DefaultL2Timeout
	}
	if o.CompressAbove == 0 {
		o.CompressAbove = DefaultCompressAbove
	}
	if o.ProbeMin == 0 {
		o.ProbeMin = DefaultProbeMin
	}
	if o.ProbeMax == 0 {
		o.ProbeMax = DefaultProbeMax
	}
	if o.ProbeMax < o.ProbeMin {
		return o, fmt.Errorf("%w: ProbeMax %v is below ProbeMin %v", ErrOptions, o.ProbeMax, o.ProbeMin)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
