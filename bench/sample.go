package bench

import (
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// The cell's probes are sysstat's, under the names the cell's code uses.

func readHeap() int64        { return sysstat.HeapBytes() }
func liveHeap() int64        { return sysstat.LiveHeap() }
func cpuTime() time.Duration { return sysstat.CPUTime() }
func peakRSS() int64         { return sysstat.PeakRSS() }
func currentRSS() int64      { return sysstat.RSS() }
func resetPeakRSS() bool     { return sysstat.ResetPeakRSS() }

// heapSampler is sysstat.HeapSampler; a nil one records nothing and reports 0.
type heapSampler sysstat.HeapSampler

func startHeapSampler(every time.Duration, limit int64, over func(int64)) *heapSampler {
	return (*heapSampler)(sysstat.StartHeapSampler(every, limit, over))
}

func (s *heapSampler) reset()      { (*sysstat.HeapSampler)(s).Reset() }
func (s *heapSampler) peak() int64 { return (*sysstat.HeapSampler)(s).Peak() }
func (s *heapSampler) close()      { (*sysstat.HeapSampler)(s).Close() }
