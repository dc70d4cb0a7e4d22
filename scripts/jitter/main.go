// Command jitter measures how long this machine takes the CPU away from a running thread: one
// thread per core, locked to its OS thread, reads the clock in a tight loop for the given time
// and records every gap between two reads longer than -min. On an idle machine such gaps are
// interrupts, other processes, or (in a VM) the hypervisor running something else on the
// core; a request in flight on that core waits as long. Run it at nice -20 to leave out the
// machine's other processes.
//
// Usage: jitter [-min 500us] [-threads N] DURATION
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

func main() {
	minGap := flag.Duration("min", 500*time.Microsecond, "record gaps longer than this")
	threads := flag.Int("threads", runtime.NumCPU(), "spinning threads")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: jitter [-min 500us] [-threads N] DURATION")
		os.Exit(2)
	}
	dur, err := time.ParseDuration(flag.Arg(0))
	if err != nil || dur <= 0 || dur > time.Hour {
		fmt.Fprintln(os.Stderr, "jitter: DURATION: want a duration up to 1h, such as 10s")
		os.Exit(2)
	}
	gaps := make([][]time.Duration, *threads)
	var wg sync.WaitGroup
	for i := range gaps {
		wg.Go(func() {
			runtime.LockOSThread()
			end := time.Now().Add(dur)
			last := time.Now()
			for last.Before(end) {
				now := time.Now()
				if d := now.Sub(last); d > *minGap && len(gaps[i]) < 1_000_000 {
					gaps[i] = append(gaps[i], d)
				}
				last = now
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	var total time.Duration
	for _, g := range gaps {
		all = append(all, g...)
	}
	for _, g := range all {
		total += g
	}
	slices.Sort(all)
	slices.Reverse(all)
	fmt.Printf("%d threads for %v: %d gaps over %v (%.1f a second a thread), %v in all (%.2f%% of the threads' time)\n",
		*threads, dur, len(all), *minGap, float64(len(all))/dur.Seconds()/float64(*threads), total.Round(time.Microsecond),
		100*total.Seconds()/dur.Seconds()/float64(*threads))
	if len(all) > 0 {
		top := all[:min(len(all), 10)]
		for i := range top {
			top[i] = top[i].Round(10 * time.Microsecond)
		}
		fmt.Printf("longest: %v\n", top)
	}
}
