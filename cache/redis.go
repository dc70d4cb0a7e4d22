package cache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// pipeChunk bounds the commands sent in one pipeline when the cache walks every tag.
const pipeChunk = 512

// connect sets up the Redis client, the invalidation subscription and the goroutines that own
// them. A Redis that does not answer leaves the cache degraded, not failed.
func (c *Cache) connect(ctx context.Context) error {
	ro, err := redis.ParseURL(c.opts.RedisURL)
	if err != nil {
		return fmt.Errorf("%w: RedisURL: %v", ErrOptions, err)
	}
	t := c.opts.L2Timeout
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = t, t, t, t
	// One immediate retry replaces a pooled connection that died with a restarted server;
	// more would make every request wait while the server is down. The probe, not the
	// client, retries dialing.
	ro.MaxRetries, ro.MinRetryBackoff, ro.MaxRetryBackoff = 1, -1, -1
	ro.DialerRetries = 1
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	c.id = randomHex()
	if ro.ClientName == "" {
		ro.ClientName = "gonomaly-cache-" + c.id // names this instance in CLIENT LIST
	}
	c.rdb = redis.NewClient(ro)
	c.channel = c.opts.Prefix + "invalidate"
	c.wake = make(chan struct{}, 1)
	c.upCh = make(chan struct{})
	c.pendingTags = make(map[*tagState]uint64)
	c.pendingKeys = make(map[string]pendingKey)
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))

	// Subscribe dials; an error here shows again in the first Receive, which handles it.
	c.ps = c.rdb.Subscribe(ctx, c.channel)
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		c.markDown(err)
	} else {
		c.mu.Lock()
		c.up.Store(true)
		c.mu.Unlock()
	}
	c.wg.Add(2)
	go c.probeLoop()
	go c.subscribeLoop()
	return nil
}

// resolve makes sure every state in states has a generation, reading (or creating) the
// missing ones in Redis.
func (c *Cache) resolve(ctx context.Context, states []*tagState) error {
	var missing []*tagState
	for _, t := range states {
		if t.gen.Load() == nil {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	gens, err := c.readGens(ctx, missing)
	if err != nil {
		return err
	}
	for i, t := range missing {
		t.advance(gens[i])
	}
	return nil
}

// readGens returns the generations of states in Redis, creating an initial one for each tag
// that has none there.
func (c *Cache) readGens(ctx context.Context, states []*tagState) ([]string, error) {
	gens := make([]string, len(states))
	for lo := 0; lo < len(states); lo += pipeChunk {
		part := states[lo:min(lo+pipeChunk, len(states))]
		pipe := c.rdb.Pipeline()
		get := make([]*redis.StringCmd, len(part))
		for i, t := range part {
			pipe.SetNX(ctx, t.key, initialGen(), 0)
			get[i] = pipe.Get(ctx, t.key)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("cache: read %d tag generations: %w", len(part), err)
		}
		for i := range part {
			gens[lo+i] = get[i].Val()
		}
	}
	return gens, nil
}

// getL2 looks key up in Redis under s's generations and returns its value and remaining TTL.
func (c *Cache) getL2(ctx context.Context, key string, s snapshot) ([]byte, time.Duration, bool) {
	if s.gens == nil || !c.up.Load() {
		c.st.l2Skipped.Add(1)
		return nil, 0, false
	}
	k := c.l2Key(key, s.gens)
	pipe := c.rdb.Pipeline()
	get := pipe.Get(ctx, k)
	pttl := pipe.PTTL(ctx, k)
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		c.st.l2Misses.Add(1)
		return nil, 0, false
	}
	if err != nil {
		c.l2Failed(ctx, err)
		return nil, 0, false
	}
	b, _ := get.Bytes()
	v, err := decode(b)
	if err != nil {
		c.st.l2Errors.Add(1)
		return nil, 0, false
	}
	c.st.l2Hits.Add(1)
	return v, pttl.Val(), true
}

// writeL2 stores v under key in Redis and, for a Set (announce), tells peers to drop their L1
// copy. It reports false if Redis failed.
func (c *Cache) writeL2(ctx context.Context, key string, v []byte, ttl time.Duration, s snapshot, announce bool) bool {
	if !c.up.Load() {
		return false
	}
	ctx = context.WithoutCancel(ctx) // a write must not be half done because a caller left
	k := c.l2Key(key, s.gens)
	var err error
	if announce {
		_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k, encode(v, c.opts.CompressAbove), ttl)
			p.Publish(ctx, c.channel, c.keyMessage(key))
			return nil
		})
	} else {
		err = c.rdb.Set(ctx, k, encode(v, c.opts.CompressAbove), ttl).Err()
	}
	if err != nil {
		c.l2Failed(ctx, err)
		return false
	}
	return true
}

// deleteL2 deletes key from Redis and tells peers to drop it from L1. It reports false if Redis
// failed.
func (c *Cache) deleteL2(ctx context.Context, key string, s snapshot) bool {
	if !c.up.Load() {
		return false
	}
	ctx = context.WithoutCancel(ctx)
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, c.l2Key(key, s.gens))
		p.Publish(ctx, c.channel, c.keyMessage(key))
		return nil
	})
	if err != nil {
		c.l2Failed(ctx, err)
		return false
	}
	return true
}

// invalidate gives t a new generation in Redis and announces it, or, while Redis is down,
// drops t locally and remembers to do the rest on reconnection.
func (c *Cache) invalidate(ctx context.Context, t *tagState) {
	if c.rdb == nil {
		t.epoch.Add(1)
		return
	}
	// An invalidation must not be lost because its caller left.
	ctx = context.WithoutCancel(ctx)
	for {
		if c.up.Load() {
			err := c.publishGen(ctx, t)
			if err == nil {
				return
			}
			c.l2Failed(ctx, err)
		}
		c.mu.Lock()
		if !c.up.Load() {
			t.drop()
			c.addPendingLocked(t, "", nil)
			c.mu.Unlock()
			return
		}
		// Redis came back in between, and the reconnection has flushed what was pending:
		// this one goes to Redis now.
		c.mu.Unlock()
	}
}

// bumpScript gives a tag the next generation and announces it, in one atomic step, so that
// the order of the announcements is the order of the generations. The new sequence number is
// above both the one in Redis and ARGV[1], the highest this instance has seen, so that a Redis
// that lost or rolled back the tag's key still moves forward.
//
//	KEYS[1] the tag's key; ARGV: floor sequence (hex), random half, channel, message prefix
//	(sender and kind), message suffix (tag name). Returns the new generation.
var bumpScript = redis.NewScript(`
local seq = tonumber(ARGV[1], 16)
local cur = redis.call('GET', KEYS[1])
if cur then
  local s = tonumber(string.sub(cur, 1, 16), 16)
  if s and s > seq then seq = s end
end
local g = string.format('%016x', seq + 1) .. ARGV[2]
redis.call('SET', KEYS[1], g)
redis.call('PUBLISH', ARGV[3], ARGV[4] .. g .. ARGV[5])
return g
`)

// publishGen gives t its next generation in Redis, announces it and records it.
func (c *Cache) publishGen(ctx context.Context, t *tagState) error {
	floor := "0"
	if g := t.gen.Load(); g != nil {
		floor = seq(*g)
	}
	kind, name := string(rune(msgTag)), t.name
	if t == c.all {
		kind, name = string(rune(msgAll)), ""
	}
	g, err := bumpScript.Run(ctx, c.rdb, []string{t.key}, floor, randomHex(), c.channel, c.id+kind, name).Text()
	if err != nil {
		return fmt.Errorf("cache: invalidate tag %q: %w", t.name, err)
	}
	t.advance(g)
	return nil
}

// dropL2 deletes key's L2 copy (under tags' current generations) after a change that could
// not be written through; while Redis is down it remembers the key for the reconnection.
func (c *Cache) dropL2(ctx context.Context, key string, tags []string) {
	ctx = context.WithoutCancel(ctx)
	for {
		if c.up.Load() {
			if s := c.snap(ctx, tags); s.gens != nil && c.deleteL2(ctx, key, s) {
				return
			}
		}
		c.mu.Lock()
		if !c.up.Load() {
			c.addPendingLocked(nil, key, tags)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// addPendingLocked remembers tag t (if not nil) or key with its tags for the reconnection. Past
// maxPendingKeys keys it forgets them and invalidates everything instead. c.mu is held.
func (c *Cache) addPendingLocked(t *tagState, key string, tags []string) {
	c.pendingSeq++
	if t != nil {
		c.pendingTags[t] = c.pendingSeq
		return
	}
	if _, ok := c.pendingKeys[key]; !ok && len(c.pendingKeys) >= maxPendingKeys {
		clear(c.pendingKeys)
		c.all.drop()
		c.pendingTags[c.all] = c.pendingSeq
		return
	}
	c.pendingKeys[key] = pendingKey{tags: slices.Clone(tags), seq: c.pendingSeq}
}

type pendingKey struct {
	tags []string
	seq  uint64
}

// l2Failed records a failed Redis operation and stops using Redis until the probe sees it
// back, unless the failure is the caller's context ending, which says nothing of Redis.
func (c *Cache) l2Failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	c.st.l2Errors.Add(1)
	c.markDown(err)
}

// markDown switches the cache to degraded: L2 is skipped until the probe reconnects. Only the
// switch is logged, not every failure while down.
func (c *Cache) markDown(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	wasDown := c.downErr != nil
	c.up.Store(false)
	c.downErr = err
	if !wasDown {
		c.since = time.Now()
	}
	c.mu.Unlock()
	if !wasDown {
		c.opts.Logger.Warn("cache: redis unreachable; serving from L1 and loaders until it is back",
			"addr", c.rdb.Options().Addr, "err", err)
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// setUpLocked switches the cache back to using Redis. c.mu is held.
func (c *Cache) setUpLocked() {
	downFor := time.Since(c.since)
	c.up.Store(true)
	c.downErr = nil
	c.since = time.Now()
	close(c.upCh)
	c.upCh = make(chan struct{})
	c.opts.Logger.Info("cache: redis reachable again; L2 in use", "addr", c.rdb.Options().Addr, "down_for", downFor.Round(time.Millisecond))
}

// probeLoop owns reconnection: each time Redis goes down it pings it with a doubling backoff
// until it answers and recover succeeds.
func (c *Cache) probeLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		wait := c.opts.ProbeMin
		for !c.up.Load() {
			timer.Reset(wait)
			select {
			case <-c.done:
				return
			case <-timer.C:
			}
			err := c.dial()
			if err == nil {
				err = c.rdb.Ping(c.ctx).Err()
			}
			if err == nil {
				err = c.recover(c.ctx)
			}
			if err != nil {
				if c.ctx.Err() != nil {
					return
				}
				c.markDown(err)
				wait = min(2*wait, c.opts.ProbeMax)
			}
		}
	}
}

// dial checks that Redis accepts a connection before the client is asked to ping it: while
// the server is gone this costs one refused connect per probe, and does not make go-redis log
// a failed dial each time.
func (c *Cache) dial() error {
	o := c.rdb.Options()
	d := net.Dialer{Timeout: c.opts.L2Timeout}
	conn, err := d.DialContext(c.ctx, o.Network, o.Addr)
	if err != nil {
		return fmt.Errorf("cache: redis at %s: %w", o.Addr, err)
	}
	return conn.Close()
}

// recover brings Redis up to date after an outage, then switches the cache back to it:
//
//   - tags invalidated here while Redis was down get a fresh generation, announced to peers;
//   - every tag this instance knows is compared with Redis: a generation that differs from the
//     one known here is replaced by a fresh one (a peer's invalidation that we missed, or a
//     Redis that restarted from an old snapshot and brought back old generations, which may
//     even be later than the last one seen here if this instance was behind; telling these
//     apart is not possible, so all cost an invalidation), and L1 entries of every tag whose
//     generation changed are dropped;
//   - keys Set or Deleted here while Redis was down are deleted from L2 and from peers' L1.
//
// Entries written to L1 while Redis was down were never written to L2, so L2 holds nothing
// newer than what it held before the outage; what it holds is now stale only for the changes
// above, which recover covers. Changes made on peers that were also cut off are flushed by
// their own recover.
func (c *Cache) recover(ctx context.Context) error {
	for {
		c.mu.Lock()
		tags := maps.Clone(c.pendingTags)
		keys := maps.Clone(c.pendingKeys)
		c.mu.Unlock()
		for t := range tags {
			if err := c.publishGen(ctx, t); err != nil {
				return err
			}
		}
		if err := c.refresh(ctx, true); err != nil {
			return err
		}
		if err := c.deletePending(ctx, keys); err != nil {
			return err
		}
		c.mu.Lock()
		for t, seq := range tags {
			if c.pendingTags[t] == seq {
				delete(c.pendingTags, t)
			}
		}
		for k, p := range keys {
			if c.pendingKeys[k].seq == p.seq {
				delete(c.pendingKeys, k)
			}
		}
		if len(c.pendingTags) == 0 && len(c.pendingKeys) == 0 {
			if !c.closed {
				c.setUpLocked()
			}
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
	}
}

// refresh reads the generation of every tag this instance knows from Redis. A later
// generation than the known one is adopted (dropping the tag's L1 entries). An earlier or
// equal-but-different one means Redis lost or rolled back the tag's key, and old entries may
// be readable again under it: the tag gets a fresh generation above both. With rebump (after
// an outage, see recover) any generation other than the known one gets a fresh one.
func (c *Cache) refresh(ctx context.Context, rebump bool) error {
	states := []*tagState{c.all}
	c.tags.Range(func(_, v any) bool {
		states = append(states, v.(*tagState))
		return true
	})
	gens, err := c.readGens(ctx, states)
	if err != nil {
		return err
	}
	for i, t := range states {
		known, g := t.gen.Load(), gens[i]
		switch {
		case known == nil:
			t.advance(g)
		case g == *known:
		case !rebump && seq(g) > seq(*known):
			t.advance(g)
		default:
			if err := c.publishGen(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// deletePending deletes the L2 copies of keys changed while Redis was down and tells peers.
func (c *Cache) deletePending(ctx context.Context, keys map[string]pendingKey) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	n := 0
	for k, p := range keys {
		s := c.snapWith(ctx, p.tags, true)
		if s.gens == nil {
			return fmt.Errorf("cache: generations of %q unknown after reconnection", k)
		}
		pipe.Del(ctx, c.l2Key(k, s.gens))
		pipe.Publish(ctx, c.channel, c.keyMessage(k))
		if n++; n%pipeChunk == 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("cache: delete keys changed during the outage: %w", err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("cache: delete keys changed during the outage: %w", err)
	}
	return nil
}

// subscribePing is how long the subscription may stay silent before it is pinged, so that a
// connection that died without a word is noticed.
const subscribePing = 15 * time.Second

// subscribeLoop owns the invalidation subscription: it applies peers' messages and, after each
// (re)subscription, reads every known generation again, since messages sent while it was not
// subscribed are lost; after a broken subscription it also empties L1, whose keys a lost
// message may have concerned.
func (c *Cache) subscribeLoop() {
	defer c.wg.Done()
	pinged := false
	broken := false // the subscription failed: messages may have been lost
	for {
		msg, err := c.ps.ReceiveTimeout(c.ctx, subscribePing)
		select {
		case <-c.done:
			return
		default:
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				pinged = true
				if err = c.ps.Ping(c.ctx); err == nil {
					continue
				}
			}
			pinged, broken = false, true
			c.l2Failed(c.ctx, fmt.Errorf("cache: invalidation channel: %w", err))
			if !c.waitUp() {
				return
			}
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				break
			}
			if broken {
				// Generations can be read again, but not the keys that peers Set or Deleted
				// meanwhile: drop every L1 entry (the epoch bump also voids fills in flight).
				c.all.epoch.Add(1)
				c.l1.InvalidateAll()
				broken = false
			}
			if c.up.Load() {
				if err := c.refresh(c.ctx, false); err != nil {
					c.l2Failed(c.ctx, err)
				}
			}
		case *redis.Message:
			c.handle(m.Payload)
		}
	}
}

// waitUp waits until Redis is in use again; it reports false if the cache closed first.
func (c *Cache) waitUp() bool {
	c.mu.Lock()
	ch, up := c.upCh, c.up.Load()
	c.mu.Unlock()
	if up {
		return true
	}
	select {
	case <-ch:
		return true
	case <-c.done:
		return false
	}
}
