package cache

import (
	"context"
	"strings"
	"sync/atomic"
)

// tagState is what an instance knows of one tag.
//
// epoch is local: it is bumped whenever this instance must stop serving the tag's L1 entries
// (an invalidation here or on a peer, or a generation that changed while the peer's message
// could not reach us). gen is the tag's generation in Redis as last seen (nil: unknown); it is
// part of the Redis key of every entry of the tag, so replacing it makes all of them
// unreachable at once, on every instance. gen is always written before epoch is bumped, and
// read after epoch, so that an entry stamped with a current epoch was read or written under
// the current generation.
//
// A generation is a sequence number (16 hex digits) followed by 16 random hex digits. Redis
// increments the sequence atomically with the announcement (bumpScript), so generations are
// ordered and an instance only ever moves a tag forward: a message or a read that arrives late
// cannot bring back a generation older than one already seen. The random half makes a
// generation that Redis lost and created again (sequence 0 after a restart, an eviction)
// differ from every earlier one.
type tagState struct {
	name  string
	key   string // the Redis key holding gen
	epoch atomic.Uint64
	gen   atomic.Pointer[string]
}

const (
	seqLen = 16
	genLen = seqLen + 16
)

// initialGen is the generation of a tag that Redis does not know yet.
func initialGen() string { return "0000000000000000" + randomHex() }

// seq is g's sequence number ("" sorts first).
func seq(g string) string { return g[:min(len(g), seqLen)] }

// advance records g as the tag's generation if it is later than the one known (or none is
// known), and then drops the tag's L1 entries. It reports whether it did.
func (t *tagState) advance(g string) bool {
	for {
		old := t.gen.Load()
		if old != nil && seq(g) <= seq(*old) {
			return false
		}
		if t.gen.CompareAndSwap(old, &g) {
			t.epoch.Add(1)
			return true
		}
	}
}

// drop makes the tag's L1 entries unservable, for an invalidation Redis has not seen yet.
func (t *tagState) drop() { t.epoch.Add(1) }

// tag returns the state of the tag named name, creating it.
func (c *Cache) tag(name string) *tagState {
	if v, ok := c.tags.Load(name); ok {
		return v.(*tagState)
	}
	v, _ := c.tags.LoadOrStore(name, &tagState{name: name, key: c.opts.Prefix + "tag:" + name})
	return v.(*tagState)
}

// snapshot is the state of an entry's tags when a lookup or write starts: the L1 epochs it
// will be stamped with and, when Redis is up and every generation is known, the generations
// that make its Redis key (nil otherwise: leave L2 alone).
type snapshot struct {
	refs []tagRef
	gens []string
}

// snap takes the snapshot for tags, first asking Redis for generations this instance does not
// know yet (when Redis is up).
func (c *Cache) snap(ctx context.Context, tags []string) snapshot {
	return c.snapWith(ctx, tags, c.rdb != nil && c.up.Load())
}

// snapWith is snap, using Redis if l2.
func (c *Cache) snapWith(ctx context.Context, tags []string, l2 bool) snapshot {
	states := make([]*tagState, 1+len(tags))
	states[0] = c.all
	for i, name := range tags {
		states[i+1] = c.tag(name)
	}
	if l2 {
		if err := c.resolve(ctx, states); err != nil {
			c.l2Failed(ctx, err)
			l2 = false
		}
	}
	s := snapshot{refs: make([]tagRef, len(states))}
	for i, t := range states {
		s.refs[i] = tagRef{t: t, epoch: t.epoch.Load()}
	}
	if l2 {
		s.gens = make([]string, len(states))
		for i, t := range states {
			g := t.gen.Load()
			if g == nil {
				return snapshot{refs: s.refs}
			}
			s.gens[i] = *g
		}
	}
	return s
}

// l2Key is the Redis key of key under the generations gens: the prefix, "v:", the generations
// (hex digits and commas, never a colon), a colon, and the key.
func (c *Cache) l2Key(key string, gens []string) string {
	var b strings.Builder
	b.Grow(len(c.opts.Prefix) + 3 + len(gens)*(genLen+1) + len(key))
	b.WriteString(c.opts.Prefix)
	b.WriteString("v:")
	for i, g := range gens {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(g)
	}
	b.WriteByte(':')
	b.WriteString(key)
	return b.String()
}

// InvalidateTag drops every entry written with tag, in both levels and on every instance that
// shares Redis: it replaces the tag's generation in Redis (the old entries become unreachable
// and expire by their TTL) and announces the new one on the invalidation channel, so that
// peers drop their L1 entries of the tag. Call it when what the tag's entries were computed
// from changes, for instance "detector:ID" when that detector is retrained or deleted.
//
// While Redis is unreachable the invalidation is local and remembered; it reaches Redis and
// the peers when Redis is back.
func (c *Cache) InvalidateTag(ctx context.Context, tag string) {
	c.st.invalidations.Add(1)
	c.invalidate(ctx, c.tag(tag))
}

// InvalidateAll drops every entry of the cache, on every instance that shares Redis, as
// InvalidateTag does for one tag.
func (c *Cache) InvalidateAll(ctx context.Context) {
	c.st.invalidations.Add(1)
	c.invalidate(ctx, c.all)
}

// Invalidation messages on the channel: the sender's id, a kind byte, then
//
//	'k' key: drop key from L1
//	't' gen name: tag name has generation gen
//	'a' gen: the cache-wide tag has generation gen
const (
	msgKey = 'k'
	msgTag = 't'
	msgAll = 'a'
)

func (c *Cache) keyMessage(key string) string {
	return c.id + string(rune(msgKey)) + key
}

// handle applies an invalidation message from a peer.
func (c *Cache) handle(payload string) {
	if len(payload) <= len(c.id) || payload[:len(c.id)] == c.id {
		return
	}
	kind, body := payload[len(c.id)], payload[len(c.id)+1:]
	switch kind {
	case msgKey:
		c.l1.Invalidate(body)
	case msgTag:
		if len(body) < genLen {
			return
		}
		// A tag this instance never saw has no entries here: nothing to drop.
		if v, ok := c.tags.Load(body[genLen:]); ok {
			v.(*tagState).advance(body[:genLen])
		}
	case msgAll:
		if len(body) == genLen {
			c.all.advance(body)
		}
	}
}
