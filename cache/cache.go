package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
)

// Cache is a two-level cache of byte values: an in-process L1 and, optionally, a Redis L2
// shared by every instance that uses the same Redis and Options.Prefix. Its methods are safe
// for concurrent use. Close stops its goroutines.
type Cache struct {
	opts Options
	l1   *otter.Cache[string, *entry]
	all  *tagState // the tag every entry carries; InvalidateAll bumps it
	tags sync.Map  // tag name -> *tagState

	fmu      sync.Mutex
	inflight map[string]*flight

	st counters

	// L2; rdb is nil for an L1-only cache.
	rdb     *redis.Client
	ps      *redis.PubSub
	channel string
	id      string // this instance, to skip its own invalidation messages
	up      atomic.Bool
	wake    chan struct{} // buffered 1: tells the probe that Redis went down
	done    chan struct{} // closed by Close
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	mu          sync.Mutex // guards the fields below and the transitions of up
	upCh        chan struct{}
	since       time.Time
	downErr     error
	closed      bool
	pendingTags map[*tagState]uint64  // tags invalidated while Redis was down
	pendingKeys map[string]pendingKey // keys Set or Deleted while Redis was down
	pendingSeq  uint64
}

// entry is an L1 value with the tag epochs it was written under.
type entry struct {
	val  []byte
	ttl  time.Duration
	refs []tagRef // refs[0] is the cache-wide tag, then the entry's tags in order
}

type tagRef struct {
	t     *tagState
	epoch uint64
}

// entryOverhead approximates what an L1 entry costs beyond its key and value bytes (the entry,
// its node in the cache and the hash table slot), for the MaxBytes bound.
const entryOverhead = 128

// maxPendingKeys bounds the Set and Delete calls remembered while Redis is down; past it the
// cache forgets them and invalidates all of L2 on reconnection instead.
const maxPendingKeys = 10000

// New builds a Cache. With Options.RedisURL it connects to Redis and subscribes to the
// invalidation channel; if Redis does not answer, New still succeeds: the cache starts
// degraded, serves from L1 and loaders, and connects when Redis comes up. New fails only for
// invalid Options or an unparsable URL.
func New(ctx context.Context, opts Options) (*Cache, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	oo := &otter.Options[string, *entry]{
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *entry]) time.Duration { return e.Value.ttl }),
	}
	if o.MaxEntries > 0 {
		oo.MaximumSize = o.MaxEntries
	} else {
		oo.MaximumWeight = o.MaxBytes
		oo.Weigher = weigh
	}
	l1, err := otter.New(oo)
	if err != nil {
		return nil, fmt.Errorf("%w: L1: %v", ErrOptions, err)
	}
	c := &Cache{
		opts:     o,
		l1:       l1,
		all:      &tagState{key: o.Prefix + "all"},
		inflight: make(map[string]*flight),
		done:     make(chan struct{}),
		since:    time.Now(),
	}
	if o.RedisURL == "" {
		return c, nil
	}
	if err := c.connect(ctx); err != nil {
		l1.StopAllGoroutines()
		return nil, err
	}
	return c, nil
}

func weigh(key string, e *entry) uint32 {
	n := uint64(len(key)) + uint64(len(e.val)) + uint64(16*len(e.refs)) + entryOverhead
	return uint32(min(n, 1<<32-1))
}

// Get returns the value of key, from L1 or else from L2 (then kept in L1 too). tags must be
// those the value was written with (see Set). The returned slice is shared with the cache and
// must not be modified.
func (c *Cache) Get(ctx context.Context, key string, tags ...string) ([]byte, bool) {
	if v, ok := c.getL1(key, tags); ok {
		return v, true
	}
	if c.rdb != nil {
		s := c.snap(ctx, tags)
		if v, rem, ok := c.getL2(ctx, key, s); ok {
			c.setL1(key, v, rem, s)
			return v, true
		}
	}
	c.st.misses.Add(1)
	return nil, false
}

// Set writes value under key to L1 and, when Redis is up, to L2 (write-through), for ttl
// (<= 0: Options.DefaultTTL; L1 keeps it at most Options.L1TTL). Other instances drop their L1
// copy of key. The entry belongs to tags: InvalidateTag of any of them drops it, and reads
// must name the same tags in the same order. Tags are meant to be coarse and long-lived (one
// per detector): the cache keeps a small record of every tag it has seen until Close. Set copies value. An L2 failure is not returned:
// the value is in L1, the failure is counted in Stats and shown by Health, and L2's copy of
// key is deleted once Redis is back.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration, tags ...string) {
	ttl = c.ttl(ttl)
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	s := c.snap(ctx, tags)
	c.setL1(key, v, ttl, s)
	c.st.sets.Add(1)
	if c.rdb == nil {
		return
	}
	if s.gens == nil || !c.writeL2(ctx, key, v, ttl, s, true) {
		c.dropL2(ctx, key, tags)
	}
}

// Delete removes key (written with tags) from both levels and from other instances' L1.
func (c *Cache) Delete(ctx context.Context, key string, tags ...string) {
	c.l1.Invalidate(key)
	c.st.deletes.Add(1)
	if c.rdb == nil {
		return
	}
	c.dropL2(ctx, key, tags)
}

// Loader computes a value on a miss. Its result must not be modified after it returns: the
// cache keeps it.
type Loader func(ctx context.Context) ([]byte, error)

// GetOrLoad returns the value of key from L1, else from L2 (promoted to L1), else from load,
// whose result it writes to both levels for ttl (<= 0: Options.DefaultTTL). Concurrent misses
// of one key (with the same tags, under the same invalidations) call load once: the first
// caller runs it with its own context, the others wait for its result or their context's end;
// if the first caller's context ends the load, a waiter whose context is still live loads
// again. load's error is returned wrapped; nothing is cached then. Cache failures are never
// returned: without Redis the value comes from L1 or load.
func (c *Cache) GetOrLoad(ctx context.Context, key string, ttl time.Duration, load Loader, tags ...string) ([]byte, error) {
	if v, ok := c.getL1(key, tags); ok {
		return v, nil
	}
	return c.loadSlow(ctx, key, c.ttl(ttl), load, tags)
}

// flight is a load in progress that concurrent misses of one key share.
type flight struct {
	done       chan struct{}
	val        []byte
	err        error
	leaderGone bool // the load ended with its leader's context, not for a reason of its own
}

// errLoaderPanicked is what waiters get when the loader of their flight panicked.
var errLoaderPanicked = errors.New("cache: loader panicked")

func (c *Cache) loadSlow(ctx context.Context, key string, ttl time.Duration, load Loader, tags []string) ([]byte, error) {
	for {
		s := c.snap(ctx, tags)
		fk := flightKey(key, s)
		c.fmu.Lock()
		if f, ok := c.inflight[fk]; ok {
			c.fmu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.leaderGone && ctx.Err() == nil {
				continue
			}
			c.st.shared.Add(1)
			return f.val, f.err
		}
		f := &flight{done: make(chan struct{})}
		c.inflight[fk] = f
		c.fmu.Unlock()
		return c.lead(ctx, f, fk, key, ttl, load, tags, s)
	}
}

// lead runs the flight f: L2, then load, and publishes the result to f's waiters.
func (c *Cache) lead(ctx context.Context, f *flight, fk, key string, ttl time.Duration, load Loader, tags []string, s snapshot) (v []byte, err error) {
	finished := false
	defer func() {
		if !finished {
			f.err = errLoaderPanicked
		}
		c.fmu.Lock()
		delete(c.inflight, fk)
		c.fmu.Unlock()
		close(f.done)
	}()
	f.val, f.leaderGone, f.err = c.fill(ctx, key, ttl, load, tags, s)
	finished = true
	return f.val, f.err
}

// fill finds key's value in L2 or loads it; leaderGone reports a load that failed because
// ctx ended.
func (c *Cache) fill(ctx context.Context, key string, ttl time.Duration, load Loader, tags []string, s snapshot) (v []byte, leaderGone bool, err error) {
	// A flight that ended between our L1 miss and the start of this one has filled L1.
	if e, ok := c.l1.GetIfPresent(key); ok && e.valid(tags) {
		return e.val, false, nil
	}
	if c.rdb != nil {
		if v, rem, ok := c.getL2(ctx, key, s); ok {
			c.setL1(key, v, rem, s)
			return v, false, nil
		}
	}
	c.st.misses.Add(1)
	c.st.loads.Add(1)
	v, err = load(ctx)
	if err != nil {
		c.st.loadErrors.Add(1)
		return nil, ctx.Err() != nil, fmt.Errorf("cache: load %q: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	c.setL1(key, v, ttl, s)
	if c.rdb != nil && s.gens != nil {
		// The value is computed: store it even if the caller has gone.
		c.writeL2(context.WithoutCancel(ctx), key, v, ttl, s, false)
	}
	return v, false, nil
}

// flightKey names a load: the key, its tags and their epochs, so that a load that started
// before an invalidation is not shared with a caller that came after it.
func flightKey(key string, s snapshot) string {
	var b strings.Builder
	b.Grow(len(key) + 24*len(s.refs))
	b.WriteString(key)
	for _, r := range s.refs {
		b.WriteByte(0)
		b.WriteString(r.t.name)
		b.WriteByte(0)
		b.WriteString(strconv.FormatUint(r.epoch, 36))
	}
	return b.String()
}

func (c *Cache) ttl(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return c.opts.DefaultTTL
	}
	return ttl
}

// getL1 returns key's L1 value if it is there under tags and none of them was invalidated
// since it was written.
func (c *Cache) getL1(key string, tags []string) ([]byte, bool) {
	if e, ok := c.l1.GetIfPresent(key); ok && e.valid(tags) {
		c.st.l1Hits.Add(1)
		return e.val, true
	}
	c.st.l1Misses.Add(1)
	return nil, false
}

// valid reports whether e was written under tags and none of them has been invalidated since.
func (e *entry) valid(tags []string) bool {
	if len(e.refs) != len(tags)+1 || e.refs[0].t.epoch.Load() != e.refs[0].epoch {
		return false
	}
	for i, name := range tags {
		r := e.refs[i+1]
		if r.t.name != name || r.t.epoch.Load() != r.epoch {
			return false
		}
	}
	return true
}

// setL1 stores v for min(ttl, L1TTL) with the epochs of s: if a tag was invalidated after s
// was taken, the entry is born stale and never served.
func (c *Cache) setL1(key string, v []byte, ttl time.Duration, s snapshot) {
	if ttl <= 0 || ttl > c.opts.L1TTL {
		ttl = c.opts.L1TTL
	}
	c.l1.Set(key, &entry{val: v, ttl: ttl, refs: s.refs})
}

// Close stops the cache's goroutines and closes its Redis connections. The cache must not be
// used after Close. Close is idempotent.
func (c *Cache) Close() error {
	var err error
	c.once.Do(func() {
		close(c.done)
		if c.rdb != nil {
			c.mu.Lock()
			c.closed = true
			c.up.Store(false) // later calls, if any, stay in L1
			c.mu.Unlock()
			c.cancel()
			if e := c.ps.Close(); e != nil && !errors.Is(e, redis.ErrClosed) {
				err = fmt.Errorf("cache: close redis subscription: %w", e)
			}
			c.wg.Wait()
			if e := c.rdb.Close(); e != nil && err == nil {
				err = fmt.Errorf("cache: close redis client: %w", e)
			}
		}
		c.l1.StopAllGoroutines()
	})
	return err
}

// randomHex returns 16 random hex digits: instance ids and the random half of generations.
func randomHex() string {
	var b [16]byte
	const hex = "0123456789abcdef"
	x := rand.Uint64()
	for i := range b {
		b[i] = hex[x&15]
		x >>= 4
	}
	return string(b[:])
}
