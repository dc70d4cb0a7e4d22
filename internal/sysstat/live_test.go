package sysstat

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// Live sanity checks: the figures of this machine are plausible and move the right way.

func TestMemoryLimitLive(t *testing.T) {
	if got := MemoryLimit(); got <= 0 {
		t.Fatalf("MemoryLimit() = %d, want > 0", got)
	}
	if m := CurrentMachine(); runtime.GOOS == "linux" && m.MemoryBytes > 0 && MemoryLimit() > int64(m.MemoryBytes) {
		t.Errorf("MemoryLimit() %d is above the machine's memory %d", MemoryLimit(), m.MemoryBytes)
	}
}

func TestCurrentMachineLive(t *testing.T) {
	m := CurrentMachine()
	if m.Cores != runtime.NumCPU() || m.GOMAXPROCS != runtime.GOMAXPROCS(0) || m.GoVersion != runtime.Version() ||
		m.OS != runtime.GOOS || m.Arch != runtime.GOARCH || m.CPUModel == "" {
		t.Errorf("CurrentMachine() = %+v", m)
	}
	if runtime.GOOS == "linux" && (m.MemoryBytes == 0 || m.CPUModel == "unknown") {
		t.Errorf("on Linux the memory and CPU model are known: %+v", m)
	}
	t.Logf("%+v", m)
}

func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

func TestCPUTimeLive(t *testing.T) {
	// Spin until 20 ms of CPU time show, within 5 s of wall time: on a loaded machine the
	// spinner gets only part of a core, so wall time says little of the CPU it used.
	c0 := CPUTime()
	for t0 := time.Now(); CPUTime()-c0 < 20*time.Millisecond; {
		if time.Since(t0) > 5*time.Second {
			t.Fatalf("5 s of spinning used %v of CPU", CPUTime()-c0)
		}
		spin(time.Millisecond)
	}
	d, err := ProcessCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// gopsutil reads clock ticks (10 ms) from /proc; getrusage is finer.
	if diff := d - CPUTime(); diff > 50*time.Millisecond || diff < -50*time.Millisecond {
		t.Errorf("ProcessCPUTime(self) %v, CPUTime %v", d, CPUTime())
	}
}

func TestRSSLive(t *testing.T) {
	rss, peak := RSS(), PeakRSS()
	if rss <= 0 || peak <= 0 {
		t.Fatalf("RSS %d, PeakRSS %d: want both positive", rss, peak)
	}
	if runtime.GOOS == "linux" && peak < rss/2 {
		t.Errorf("PeakRSS %d well below RSS %d", peak, rss)
	}
	g, err := ProcessRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if g < rss/2 || g > rss*2 {
		t.Errorf("ProcessRSS(self) %d, RSS %d", g, rss)
	}
	if runtime.GOOS != "linux" {
		return
	}
	// With 64 MiB touched, the resident set holds them and the peak is at least the
	// resident set. (Whether the resident set grew depends on what the runtime had kept.)
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = 1
	}
	if now, up := RSS(), PeakRSS(); now < 64<<20 || up < now {
		t.Errorf("with 64 MiB touched: resident %d, peak %d", now, up)
	}
	hp, err := ProcessPeakRSS(os.Getpid())
	if err != nil || hp < 64<<20 {
		t.Errorf("ProcessPeakRSS(self) = %d, %v", hp, err)
	}
	runtime.KeepAlive(b)
	b = nil
	runtime.GC()
	if !ResetPeakRSS() {
		t.Skip("this kernel refuses to reset the peak (clear_refs)")
	}
	t.Logf("peak %d after the reset, resident %d", PeakRSS(), RSS())
}

func TestProcessGone(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid // waited for: no such process any more
	if _, err := ProcessRSS(pid); err == nil {
		t.Error("ProcessRSS of a finished process: no error")
	}
	if _, err := ProcessCPUTime(pid); err == nil {
		t.Error("ProcessCPUTime of a finished process: no error")
	}
	if _, err := ProcessOpenFiles(pid); err == nil {
		t.Error("ProcessOpenFiles of a finished process: no error")
	}
	if _, err := OpenRSS(pid); err == nil {
		t.Error("OpenRSS of a finished process: no error")
	}
}

// TestRSSReaderChild watches a child process, as bench's memory test does.
func TestRSSReaderChild(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSleep$")
	cmd.Env = append(os.Environ(), "SYSSTAT_HELPER=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	r, err := OpenRSS(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 3 {
		n, err := r.Read()
		if err != nil || n <= 0 {
			t.Fatalf("Read() = %d, %v", n, err)
		}
		time.Sleep(time.Millisecond)
	}
	if n, err := ProcessOpenFiles(cmd.Process.Pid); err != nil || n < 1 {
		t.Errorf("ProcessOpenFiles(child) = %d, %v", n, err)
	}
}

func TestHelperSleep(t *testing.T) {
	if os.Getenv("SYSSTAT_HELPER") != "1" {
		t.Skip("the child of TestRSSReaderChild")
	}
	time.Sleep(10 * time.Second)
}

func TestOpenFilesLive(t *testing.T) {
	n := OpenFiles()
	if n < 1 {
		t.Fatalf("OpenFiles() = %d", n)
	}
	f, err := os.Open("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	if got := OpenFiles(); got != n+1 {
		t.Errorf("OpenFiles() = %d after opening one file, was %d", got, n)
	}
	f.Close()
	if got := OpenFiles(); got != n {
		t.Errorf("OpenFiles() = %d after closing it, was %d", got, n)
	}
	// gopsutil lists /proc/self/fd through a descriptor of its own, which it counts.
	if g, err := ProcessOpenFiles(os.Getpid()); err != nil || g < n || g > n+1 {
		t.Errorf("ProcessOpenFiles(self) = %d, %v; OpenFiles %d", g, err, n)
	}
}

func TestSamplerLive(t *testing.T) {
	before := OpenFiles()
	s := NewSampler()
	a := s.Sample()
	if a.RSS <= 0 || a.Heap <= 0 || a.HeapGoal <= 0 || a.Goroutines < 1 || a.CPU <= 0 {
		t.Errorf("first sample %+v", a)
	}
	if runtime.GOOS == "linux" && a.OpenFiles != before {
		t.Errorf("sample's open files %d, OpenFiles before the sampler %d", a.OpenFiles, before)
	}
	done := make(chan struct{})
	go func() { <-done }()
	runtime.GC()
	spin(20 * time.Millisecond)
	b := s.Sample()
	close(done)
	if b.GCCycles <= a.GCCycles || b.Goroutines <= a.Goroutines-1 || b.CPU <= a.CPU {
		t.Errorf("after a collection, a goroutine and 20 ms of CPU: %+v, was %+v", b, a)
	}
	// A collection stops the world twice (mark start and mark termination).
	if b.GCPauses < 2 || b.GCPauseMax <= 0 || b.GCPauseMax > time.Second {
		t.Errorf("after a collection: %d pauses, the longest %v", b.GCPauses, b.GCPauseMax)
	}
	if c := s.Sample(); c.GCPauses != 0 || c.GCPauseMax != 0 {
		t.Errorf("with no collection in between: %d pauses, the longest %v", c.GCPauses, c.GCPauseMax)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if got := OpenFiles(); got != before {
		t.Errorf("%d open files after Close, %d before NewSampler", got, before)
	}
	if Goroutines() < 1 {
		t.Error("no goroutines")
	}
}

func TestHeapSampler(t *testing.T) {
	var nilS *HeapSampler
	nilS.Reset()
	if nilS.Peak() != 0 {
		t.Error("a nil sampler's peak is not 0")
	}
	fired := make(chan int64, 1)
	base := LiveHeap()
	s := StartHeapSampler(time.Millisecond, base+16<<20, func(h int64) { fired <- h })
	defer s.Close()
	b := make([]byte, 32<<20)
	time.Sleep(20 * time.Millisecond)
	if p := s.Peak(); p < base+32<<20 {
		t.Errorf("peak %d with 32 MiB held over a base of %d", p, base)
	}
	select {
	case h := <-fired:
		if h <= base+16<<20 {
			t.Errorf("over called at %d, under the limit", h)
		}
	case <-time.After(5 * time.Second):
		t.Error("over was not called")
	}
	runtime.KeepAlive(b)
	b = nil
	_ = b
	LiveHeap()
	s.Reset()
	if p := s.Peak(); p >= base+32<<20 {
		t.Errorf("peak %d after Reset with the 32 MiB freed", p)
	}
}

func TestSystemNow(t *testing.T) {
	s, err := SystemNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.MemTotal <= 0 || s.MemAvailable <= 0 || s.MemAvailable > s.MemTotal || s.Load1 < 0 {
		t.Fatalf("implausible system reading %+v", s)
	}
}
