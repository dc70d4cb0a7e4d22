package optimize

import (
	"context"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

// costly stands for an expensive pure function worth memoizing (a detector's scoring of a
// small batch, a statistic over a window): 16 outputs of 512 square roots and logs each,
// about 100 µs on an idle core.
func costly(_ context.Context, seed int) ([]float64, error) {
	out := make([]float64, 16)
	for j := range out {
		s := 0.0
		for i := 1; i <= 512; i++ {
			x := float64(i*(seed+j+1)) * 1e-3
			s += math.Sqrt(x) * math.Log1p(x)
		}
		out[j] = s
	}
	return out, nil
}

// BenchmarkMemoize calls costly over 64 keys, uncached and memoized (every call after the
// first 64 a hit): the gain of Memoize for a repeated call.
func BenchmarkMemoize(b *testing.B) {
	ctx := context.Background()
	const keys = 64
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := costly(ctx, i%keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name  string
		codec Codec[[]float64]
	}{{"memo-json", nil}, {"memo-float64s", Float64sCodec{}}} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := Memoize(costly, strconv.Itoa, tc.codec, MemoOptions{SizeMB: 16})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for k := range keys { // the first call of each key, outside the timing
				if _, err := m.Call(ctx, k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := m.Call(ctx, i%keys); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// work is a Map item of a few microseconds.
func work(_ context.Context, v float64) (float64, error) {
	s := 0.0
	for i := 1; i <= 256; i++ {
		s += math.Sqrt(v + float64(i))
	}
	return s, nil
}

// BenchmarkMap maps 10000 items of a few microseconds each: a serial loop, a goroutine per
// item, and Map with its defaults (GOMAXPROCS workers, 8 chunks each). "halves" is the control:
// the serial loop split in two goroutines by hand, the best two cores can do, which shows how
// much of a second core the machine had to give during the run.
func BenchmarkMap(b *testing.B) {
	ctx := context.Background()
	in := make([]float64, 10000)
	for i := range in {
		in[i] = float64(i)
	}
	out := make([]float64, len(in))
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i, v := range in {
				out[i], _ = work(ctx, v)
			}
		}
	})
	b.Run("goroutine-per-item", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for i, v := range in {
				wg.Go(func() { out[i], _ = work(ctx, v) })
			}
			wg.Wait()
		}
	})
	b.Run("halves", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for h := range 2 {
				wg.Go(func() {
					lo, hi := h*len(in)/2, (h+1)*len(in)/2
					for i := lo; i < hi; i++ {
						out[i], _ = work(ctx, in[i])
					}
				})
			}
			wg.Wait()
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := MapInto(ctx, out, in, work, MapOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemoryGuard is the cost of Wait and Over under the limit (a reading cached for the
// poll interval), beside the cost of the probe itself (a reading every call).
func BenchmarkMemoryGuard(b *testing.B) {
	ctx := context.Background()
	g, err := NewMemoryGuard(GuardOptions{HeapBytes: 1 << 50, RSSBytes: 1 << 50, Poll: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	b.Run("wait-under-limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := g.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wait-under-limit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := g.Wait(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("probe", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g.mu.Lock()
			g.probe()
			g.mu.Unlock()
		}
	})
}
