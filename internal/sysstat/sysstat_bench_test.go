package sysstat

import (
	"os"
	"testing"
)

// The costs of a look. BenchmarkSample is what a monitor pays per tick; BenchmarkRSSReader is
// the parent's watch on a child's memory (every 5 ms in bench), against BenchmarkProcessRSS,
// gopsutil doing the same; BenchmarkHeapBytes is the heap sampler's look (every 1 ms).

func BenchmarkSample(b *testing.B) {
	s := NewSampler()
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.Sample()
	}
}

func BenchmarkHeapBytes(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		HeapBytes()
	}
}

func BenchmarkCPUTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CPUTime()
	}
}

func BenchmarkRSSReader(b *testing.B) {
	r, err := OpenRSS(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProcessRSS(b *testing.B) {
	pid := os.Getpid()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ProcessRSS(pid); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenFiles(b *testing.B) {
	b.Run("counter", func(b *testing.B) {
		c, err := openFDCounter()
		if err != nil {
			b.Fatal(err)
		}
		defer c.close()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.count(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gopsutil", func(b *testing.B) {
		pid := os.Getpid()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ProcessOpenFiles(pid); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPeakRSS(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		PeakRSS()
	}
}

func BenchmarkMemoryLimit(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		MemoryLimit()
	}
}

func BenchmarkCurrentMachine(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CurrentMachine()
	}
}
