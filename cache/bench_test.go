package cache

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkGetL1Hit is the hot path: a key found in L1 (with one tag), L1 only and in front of
// Redis.
func BenchmarkGetL1Hit(b *testing.B) {
	for _, l2 := range []bool{false, true} {
		name := "L1only"
		if l2 {
			name = "withRedis"
		}
		b.Run(name, func(b *testing.B) {
			o := Options{}
			if l2 {
				o.Prefix = testPrefix(b)
				o.RedisURL, _ = sharedRedis(b, o.Prefix)
			}
			c := newCache(b, o)
			ctx := context.Background()
			c.Set(ctx, "k", detectionResult(100), time.Hour, "detector:1")
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.Get(ctx, "k", "detector:1"); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkGetL2Hit reads from the real Redis: L1 is emptied before each Get. Sizes below and
// above the compression threshold.
func BenchmarkGetL2Hit(b *testing.B) {
	for _, n := range []int{10, 2000} {
		val := detectionResult(n)
		b.Run(strconv.Itoa(len(val))+"B", func(b *testing.B) {
			prefix := testPrefix(b)
			url, _ := sharedRedis(b, prefix)
			c := newCache(b, Options{RedisURL: url, Prefix: prefix})
			ctx := context.Background()
			c.Set(ctx, "k", val, time.Hour, "detector:1")
			b.ReportAllocs()
			b.SetBytes(int64(len(val)))
			for b.Loop() {
				c.l1.Invalidate("k")
				if _, ok := c.Get(ctx, "k", "detector:1"); !ok {
					b.Fatal("miss")
				}
			}
			if s := c.Stats(); s.L2Hits < uint64(b.N) {
				b.Fatalf("%d L2 hits for %d Gets", s.L2Hits, b.N)
			}
		})
	}
}

// BenchmarkGetOrLoadParallel: every goroutine asks for one of 1,000 keys that are cached
// (after the first round), with Redis behind.
func BenchmarkGetOrLoadParallel(b *testing.B) {
	prefix := testPrefix(b)
	url, _ := sharedRedis(b, prefix)
	c := newCache(b, Options{RedisURL: url, Prefix: prefix})
	val := detectionResult(100)
	load := func(context.Context) ([]byte, error) { return val, nil }
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "predict:" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			if _, err := c.GetOrLoad(ctx, keys[i%len(keys)], time.Hour, load, "detector:1"); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkCodec compares the two compressors of github.com/klauspost/compress on a detection
// result (2,000 scores as JSON): the figures behind the choice of S2 in encode.
func BenchmarkCodec(b *testing.B) {
	val := detectionResult(2000)
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	defer zenc.Close()
	zdec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	defer zdec.Close()
	var dst []byte
	ratio := func(b *testing.B, n int) { b.ReportMetric(float64(n)/float64(len(val)), "ratio") }
	b.Run("s2/encode", func(b *testing.B) {
		b.SetBytes(int64(len(val)))
		for b.Loop() {
			dst = s2.Encode(dst[:cap(dst)], val)
		}
		ratio(b, len(dst))
	})
	b.Run("s2/decode", func(b *testing.B) {
		enc := s2.Encode(nil, val)
		b.SetBytes(int64(len(val)))
		for b.Loop() {
			dst, _ = s2.Decode(dst[:cap(dst)], enc)
		}
	})
	b.Run("zstd/encode", func(b *testing.B) {
		b.SetBytes(int64(len(val)))
		for b.Loop() {
			dst = zenc.EncodeAll(val, dst[:0])
		}
		ratio(b, len(dst))
	})
	b.Run("zstd/decode", func(b *testing.B) {
		enc := zenc.EncodeAll(val, nil)
		b.SetBytes(int64(len(val)))
		for b.Loop() {
			dst, _ = zdec.DecodeAll(enc, dst[:0])
		}
	})
}
