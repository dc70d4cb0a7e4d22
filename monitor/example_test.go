package monitor_test

import (
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
)

// A sampler watching this process: the newest reading, and the window of the last ones.
func ExampleStartSampler() {
	s := monitor.StartSampler(monitor.SamplerOptions{Interval: 10 * time.Millisecond, Window: 5})
	time.Sleep(100 * time.Millisecond)
	s.Close()
	r, ok := s.Latest()
	fmt.Println("have a reading:", ok)
	fmt.Println("resident set known:", r.RSS > 0)
	fmt.Println("window holds at most 5:", len(s.Window(nil)) <= 5)
	// Output:
	// have a reading: true
	// resident set known: true
	// window holds at most 5: true
}
