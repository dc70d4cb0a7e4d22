// Command epollgen is a second, minimal open-model load generator, to tell the generator's
// share of a measured tail from the service's (BENCHMARKS.md, issue 13's p99 target). It
// is one locked OS thread in an epoll loop, as wrk is: a periodic timerfd sets the schedule,
// each due request goes out on a free keep-alive connection with one write, and its latency
// counts from its due time (a request that found every connection busy waits for one, and
// that wait counts, as in wrk2). No goroutine is woken per request, so it costs about half the
// CPU of `gonomaly performance loadtest --pacing precise` and leaves the service more of a
// shared machine. It speaks only what it needs: a fixed POST and answers with Content-Length.
//
// Usage: epollgen -addr 127.0.0.1:8080 -body predict.json -rate 10000 -d 20s [-c 64]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"
)

type conn struct {
	fd  int
	f   *os.File // keeps fd open
	buf []byte
	n   int
	due time.Duration
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the service's host:port")
	path := flag.String("path", "/api/v1/detection/predict", "the path every request POSTs to")
	bodyFile := flag.String("body", "", "file holding the JSON body of every request")
	rate := flag.Float64("rate", 10000, "requests a second")
	dur := flag.Duration("d", 20*time.Second, "how long to send")
	nconn := flag.Int("c", 64, "connections (requests in flight at most)")
	flag.Parse()
	if err := run(*addr, *path, *bodyFile, *rate, *dur, *nconn); err != nil {
		fmt.Fprintln(os.Stderr, "epollgen:", err)
		os.Exit(1)
	}
}

func run(addr, path, bodyFile string, rate float64, dur time.Duration, nconn int) error {
	if rate <= 0 || dur <= 0 || nconn < 1 {
		return errors.New("-rate, -d and -c must be positive")
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, addr, len(body), body)
	runtime.LockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	conns := make([]*conn, nconn)
	free := make([]int, 0, nconn)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		f, err := c.(*net.TCPConn).File() // a blocking duplicate, made non-blocking below
		_ = c.Close()
		if err != nil {
			return err
		}
		fd := int(f.Fd())
		if err := unix.SetNonblock(fd, true); err != nil {
			return err
		}
		conns[i] = &conn{fd: fd, f: f, buf: make([]byte, 16<<10)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return err
		}
		free = append(free, i)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		return err
	}
	iv := time.Duration(float64(time.Second) / rate)
	total := int64(dur / iv)
	h := hdrhistogram.New(1, int64(time.Minute), 3)
	var seq, done, late, failed int64
	var pending []time.Duration // due times of requests waiting for a connection
	start := time.Now()
	spec := unix.NsecToTimespec(int64(iv))
	if err := unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{Value: spec, Interval: spec}, nil); err != nil {
		return err
	}
	send := func(due time.Duration) error {
		i := free[len(free)-1]
		free = free[:len(free)-1]
		c := conns[i]
		c.due, c.n = due, 0
		_, err := unix.Write(c.fd, req) // a small request on an idle connection: written whole
		return err
	}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	events := make([]unix.EpollEvent, 128)
	var tb [8]byte
	deadline := start.Add(dur + time.Minute)
	for done < total {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d answers missing a minute after the last request", total-done, total)
		}
		n, err := unix.EpollWait(ep, events, 1000)
		if err == unix.EINTR {
			continue
		} else if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			if ev.Fd == -1 {
				_, _ = unix.Read(tfd, tb[:])
				now := time.Since(start)
				for seq < total && time.Duration(seq+1)*iv <= now {
					seq++
					due := time.Duration(seq) * iv
					if len(free) == 0 {
						late++
						pending = append(pending, due)
						continue
					}
					if err := send(due); err != nil {
						return err
					}
				}
				continue
			}
			c := conns[ev.Fd]
			m, err := unix.Read(c.fd, c.buf[c.n:])
			if err == unix.EAGAIN {
				continue
			} else if err != nil {
				return err
			} else if m == 0 {
				return errors.New("the service closed a connection")
			}
			c.n += m
			complete, ok, err := answered(c.buf[:c.n])
			if err != nil {
				return err
			} else if !complete {
				continue
			}
			if !ok {
				failed++
			}
			h.RecordValue(int64(time.Since(start) - c.due))
			done++
			free = append(free, int(ev.Fd))
			if len(pending) > 0 {
				due := pending[0]
				pending = pending[1:]
				if err := send(due); err != nil {
					return err
				}
			}
		}
	}
	elapsed := time.Since(start)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1e6 }
	fmt.Printf("%d answers in %v (%.0f/s), %d waited for a connection, %d not 200; p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms; CPU %.1f µs a request\n",
		done, elapsed.Round(time.Millisecond), float64(done)/elapsed.Seconds(), late, failed,
		ms(50), ms(99), ms(99.9), float64(h.Max())/1e6, float64(cpu.Microseconds())/float64(done))
	for _, c := range conns {
		_ = c.f.Close()
	}
	return nil
}

// answered reports whether b holds a whole answer (its head and Content-Length bytes of
// body), and whether its status is 200.
func answered(b []byte) (complete, ok bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) == cap(b) {
			return false, false, errors.New("an answer's head is over 16 KiB")
		}
		return false, false, nil
	}
	head := b[:end+2]
	k := bytes.Index(bytes.ToLower(head), []byte("\r\ncontent-length:"))
	if k < 0 {
		return false, false, errors.New("an answer without Content-Length")
	}
	v := head[k+len("\r\ncontent-length:"):]
	v = v[:bytes.IndexByte(v, '\r')]
	cl, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil || cl < 0 || end+4+cl > cap(b) {
		return false, false, errors.New("an answer with a bad or too long Content-Length")
	}
	return len(b) >= end+4+cl, bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")), nil
}
