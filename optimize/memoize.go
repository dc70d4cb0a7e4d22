package optimize

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/gonomaly/gonomaly/cache"
)

// Codec turns a memoized function's results into the bytes the cache holds, and back.
type Codec[V any] interface {
	Marshal(v V) ([]byte, error)
	Unmarshal(b []byte) (V, error)
}

// JSONCodec encodes values with encoding/json: Memoize's default, for any value JSON can
// carry (exported fields; no NaN or Inf, which Marshal refuses, so such a result is returned
// but not cached).
type JSONCodec[V any] struct{}

// Marshal encodes v as JSON.
func (JSONCodec[V]) Marshal(v V) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into a new V.
func (JSONCodec[V]) Unmarshal(b []byte) (V, error) {
	var v V
	err := json.Unmarshal(b, &v)
	return v, err
}

// Float64sCodec encodes a []float64 as 8 little-endian bytes per value: exact (NaN and Inf
// included), and quick: in BenchmarkMemoize a hit on 16 values costs about a twentieth of what
// it costs with JSONCodec.
type Float64sCodec struct{}

// Marshal encodes vs.
func (Float64sCodec) Marshal(vs []float64) ([]byte, error) {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b, nil
}

// Unmarshal decodes what Marshal encoded into a new slice.
func (Float64sCodec) Unmarshal(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("optimize: float64s: %d bytes is not a multiple of 8", len(b))
	}
	vs := make([]float64, len(b)/8)
	for i := range vs {
		vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return vs, nil
}

// MemoOptions configure Memoize. The zero value memoizes in a cache of its own of
// DefaultCacheSizeMB for DefaultCacheTTL.
type MemoOptions struct {
	// Disabled makes the Memo call the function every time (Config.EnableCaching false).
	Disabled bool
	// TTL is how long a result is kept (default DefaultCacheTTL).
	TTL time.Duration
	// SizeMB bounds the Memo's own cache, in MiB of keys and values (default
	// DefaultCacheSizeMB). It must be 0 when Cache is given: that cache has its own bound.
	SizeMB int
	// Cache, when set, holds the results instead of a cache of the Memo's own: a shared cache,
	// possibly with Redis as L2, so that every instance of the service shares the results. The
	// caller closes it. Name must then be set.
	Cache *cache.Cache
	// Name starts the Memo's keys, so that memos sharing a Cache do not see each other's
	// entries (required with Cache; the Memo's own cache needs none).
	Name string
}

// hashAbove is the key length above which Memo keys are the SHA-256 of the caller's key, so
// that a key's size is bounded whatever K holds.
const hashAbove = 64

// Memo is a memoized function: Call returns the function's result for a key from the cache
// when it holds one, and otherwise calls the function once for all concurrent callers of the
// same key, caching a result that it returns without error. Its methods are safe for
// concurrent use.
type Memo[K, V any] struct {
	fn     func(context.Context, K) (V, error)
	key    func(K) string
	codec  Codec[V]
	c      *cache.Cache
	own    bool
	ttl    time.Duration
	prefix string
	off    bool

	calls, loads, loadErrors, encodeErrors atomic.Uint64
}

// loadError carries the function's own error through the cache, which wraps it with the
// cache key; Call hands callers the function's error itself.
type loadError struct{ err error }

func (e *loadError) Error() string { return e.err.Error() }
func (e *loadError) Unwrap() error { return e.err }

// errNotCacheable carries a result the codec could not encode to the loader's caller.
var errNotCacheable = errors.New("optimize: result not cacheable")

// Memoize wraps fn so that its results are cached by key(k) for opts.TTL. key must give equal
// strings for arguments that give equal results, and different strings otherwise (it is the
// cache key; keys longer than 64 bytes are hashed with SHA-256). codec encodes the results;
// nil is JSONCodec. fn runs with the context of the caller that missed first; its error is
// returned to that caller and to the callers waiting for the same key, and is not cached. A
// panic in fn reaches the caller that runs it, as it would without Memoize; its waiters get
// an error. Close releases the Memo's own cache.
func Memoize[K, V any](fn func(context.Context, K) (V, error), key func(K) string, codec Codec[V], opts MemoOptions) (*Memo[K, V], error) {
	if fn == nil || key == nil {
		return nil, errors.New("optimize: Memoize needs a function and a key function")
	}
	if codec == nil {
		codec = JSONCodec[V]{}
	}
	if opts.TTL < 0 || opts.SizeMB < 0 {
		return nil, fmt.Errorf("optimize: Memoize: negative TTL (%v) or SizeMB (%d)", opts.TTL, opts.SizeMB)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultCacheTTL
	}
	m := &Memo[K, V]{fn: fn, key: key, codec: codec, ttl: opts.TTL, off: opts.Disabled, c: opts.Cache}
	if opts.Disabled {
		return m, nil
	}
	if opts.Cache != nil {
		if opts.SizeMB != 0 {
			return nil, errors.New("optimize: Memoize: SizeMB is set with a shared Cache, which has its own bound")
		}
		if opts.Name == "" {
			return nil, errors.New("optimize: Memoize: a shared Cache needs a Name for the memo's keys")
		}
		m.prefix = "memo:" + opts.Name + ":"
		return m, nil
	}
	if opts.SizeMB == 0 {
		opts.SizeMB = DefaultCacheSizeMB
	}
	if opts.SizeMB > maxCacheSizeMB {
		return nil, fmt.Errorf("optimize: Memoize: SizeMB %d is above %d", opts.SizeMB, maxCacheSizeMB)
	}
	// An L1-only cache: its L1TTL (5 min by default, to bound staleness between instances)
	// would cut the TTL short, and there is no other instance here.
	c, err := cache.New(context.Background(), cache.Options{
		MaxBytes: uint64(opts.SizeMB) << 20, DefaultTTL: opts.TTL, L1TTL: opts.TTL,
	})
	if err != nil {
		return nil, fmt.Errorf("optimize: Memoize: %w", err)
	}
	m.c, m.own = c, true
	if opts.Name != "" {
		m.prefix = "memo:" + opts.Name + ":"
	}
	return m, nil
}

// Call returns fn(ctx, k), from the cache when it holds the result of an earlier call with the
// same key. It returns ctx's error if ctx is done before a result is ready (a load that other
// callers wait for goes on with a live caller's context).
func (m *Memo[K, V]) Call(ctx context.Context, k K) (V, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	m.calls.Add(1)
	if m.off {
		m.loads.Add(1)
		v, err := m.fn(ctx, k)
		if err != nil {
			m.loadErrors.Add(1)
		}
		return v, err
	}
	// The loader keeps the value it computed, so that the caller that ran it gets it without
	// decoding what it just encoded.
	var (
		v      V
		loaded bool
	)
	b, err := m.c.GetOrLoad(ctx, m.cacheKey(k), m.ttl, func(ctx context.Context) ([]byte, error) {
		m.loads.Add(1)
		var err error
		if v, err = m.fn(ctx, k); err != nil {
			m.loadErrors.Add(1)
			return nil, &loadError{err}
		}
		loaded = true
		b, err := m.codec.Marshal(v)
		if err != nil {
			m.encodeErrors.Add(1)
			return nil, errNotCacheable
		}
		return b, nil
	})
	if loaded { // this caller ran fn: its own result, whether the cache took it or not
		return v, nil
	}
	if err != nil {
		if le, ok := errors.AsType[*loadError](err); ok {
			return zero, le.err
		}
		if errors.Is(err, errNotCacheable) {
			// The leader's result could not be encoded: compute ours.
			return m.fn(ctx, k)
		}
		return zero, err
	}
	v, err = m.codec.Unmarshal(b)
	if err != nil {
		// A value that no longer decodes (another version's, under a shared Cache): compute it.
		return m.fn(ctx, k)
	}
	return v, nil
}

func (m *Memo[K, V]) cacheKey(k K) string {
	s := m.key(k)
	if len(s) > hashAbove {
		h := sha256.Sum256([]byte(s))
		s = "sha256:" + hex.EncodeToString(h[:])
	}
	return m.prefix + s
}

// Forget drops k's cached result, so that the next Call computes it again.
func (m *Memo[K, V]) Forget(ctx context.Context, k K) {
	if !m.off {
		m.c.Delete(ctx, m.cacheKey(k))
	}
}

// MemoStats count a Memo's calls since Memoize.
type MemoStats struct {
	// Calls counts Call; Loads the calls of the function; LoadErrors those that returned an
	// error; EncodeErrors the results the codec could not encode (returned, not cached).
	// Calls - Loads are the calls answered by the cache or by another caller's load.
	Calls, Loads, LoadErrors, EncodeErrors uint64
	// Cache is the cache's own statistics (those of the whole shared cache with
	// MemoOptions.Cache); zero when disabled.
	Cache cache.Stats
}

// Stats returns the counters.
func (m *Memo[K, V]) Stats() MemoStats {
	s := MemoStats{Calls: m.calls.Load(), Loads: m.loads.Load(), LoadErrors: m.loadErrors.Load(), EncodeErrors: m.encodeErrors.Load()}
	if !m.off {
		s.Cache = m.c.Stats()
	}
	return s
}

// Close releases the Memo's own cache (a shared Cache is the caller's to close). The Memo must
// not be used after Close.
func (m *Memo[K, V]) Close() error {
	if m.own {
		return m.c.Close()
	}
	return nil
}
