package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/parallel"
)

// waitGoroutines fails the test unless the goroutines fall back to at most before within a
// generous deadline (a loaded machine schedules the last returns late).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// The scheduler fills every slot, never runs more than its slots at once, and never more
// than its memory budget of costs at once.
func TestScheduleBounds(t *testing.T) {
	const n, slots, budget = 40, 3, 100
	cost := func(i int) int64 {
		if i%5 == 4 {
			return 70 // with 70 running, only costs up to 30 fit beside it
		}
		return 20
	}
	var mu sync.Mutex
	var active, most int
	var mem, mostMem int64
	full := make(chan struct{}) // closed when the three slots were first all busy
	var once sync.Once
	ran := make([]bool, n)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	schedule(context.Background(), idx, slots, budget, cost, func(ctx context.Context, i int) {
		mu.Lock()
		active++
		mem += cost(i)
		most, mostMem = max(most, active), max(mostMem, mem)
		if active == slots {
			once.Do(func() { close(full) })
		}
		ran[i] = true
		mu.Unlock()
		if i < slots { // the first three wait until all three run: the bound is reached
			select {
			case <-full:
			case <-time.After(30 * time.Second):
				t.Error("the first three never ran at once")
			}
		}
		runtime.Gosched()
		mu.Lock()
		active--
		mem -= cost(i)
		mu.Unlock()
	}, func(i int, p *parallel.PanicError) { t.Errorf("%d: %v", i, p) })
	if most != slots {
		t.Errorf("at most %d at once, want %d", most, slots)
	}
	if mostMem > budget {
		t.Errorf("%d of cost at once, over the budget of %d", mostMem, budget)
	}
	for i, r := range ran {
		if !r {
			t.Errorf("%d did not run", i)
		}
	}
}

// A panic in one call is handed to fail and the others run.
func TestSchedulePanic(t *testing.T) {
	var ran atomic.Int32
	var failed []int
	var mu sync.Mutex
	schedule(context.Background(), []int{0, 1, 2, 3, 4}, 2, 10, func(int) int64 { return 1 }, func(ctx context.Context, i int) {
		if i == 2 {
			var xs []int
			xs[i] = 1 // a runtime panic: index out of range
		}
		ran.Add(1)
	}, func(i int, p *parallel.PanicError) {
		mu.Lock()
		defer mu.Unlock()
		failed = append(failed, i)
		if p.Stack == nil {
			t.Error("no stack")
		}
	})
	if ran.Load() != 4 || len(failed) != 1 || failed[0] != 2 {
		t.Errorf("ran %d, failed %v; want 4 and [2]", ran.Load(), failed)
	}
}

// Once ctx ends nothing more starts, the calls running see it, and no goroutine stays.
func TestScheduleCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started atomic.Int32
	idx := make([]int, 50)
	for i := range idx {
		idx[i] = i
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		schedule(ctx, idx, 4, 1000, func(int) int64 { return 100 }, func(ctx context.Context, i int) {
			if started.Add(1) == 4 {
				cancel()
			}
			<-ctx.Done() // a fit that stops at cancellation
		}, func(i int, p *parallel.PanicError) { t.Errorf("%d: %v", i, p) })
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("schedule did not return after cancellation")
	}
	if n := started.Load(); n != 4 {
		t.Errorf("%d started, want the 4 running when ctx ended", n)
	}
	waitGoroutines(t, before)
}
