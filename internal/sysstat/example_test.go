package sysstat_test

import (
	"fmt"
	"runtime"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// A Sampler measures this process before and after some work; on Linux each sample
// allocates nothing, so a monitor can take one every tick.
func ExampleSampler() {
	s := sysstat.NewSampler()
	defer s.Close()
	before := s.Sample()

	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	after := s.Sample()
	runtime.KeepAlive(buf)

	fmt.Println("heap holds the 64 MiB:", after.Heap >= 64<<20)
	fmt.Println("resident set grew:", after.RSS > before.RSS)
	fmt.Println("CPU time moved:", after.CPU >= before.CPU)
	// Output:
	// heap holds the 64 MiB: true
	// resident set grew: true
	// CPU time moved: true
}

// A HeapSampler finds the largest heap of a phase, which the heap after it does not show.
func ExampleHeapSampler() {
	base := sysstat.LiveHeap()
	s := sysstat.StartHeapSampler(time.Millisecond, 0, nil)
	defer s.Close()

	s.Reset()
	scratch := make([]byte, 32<<20)
	time.Sleep(10 * time.Millisecond)
	runtime.KeepAlive(scratch)
	scratch = nil

	fmt.Println("peak above base by 32 MiB:", s.Peak()-base >= 32<<20)
	fmt.Println("live heap back near base:", sysstat.LiveHeap()-base < 1<<20)
	// Output:
	// peak above base by 32 MiB: true
	// live heap back near base: true
}

// MemoryLimit is the memory this process may use: the machine's, or a container's limit.
func ExampleMemoryLimit() {
	budget := sysstat.MemoryLimit() / 2
	fmt.Println("half the memory is a positive budget:", budget > 0)
	// Output: half the memory is a positive budget: true
}
