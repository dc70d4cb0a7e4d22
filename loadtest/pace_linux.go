package loadtest

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fdPacer waits on a timerfd, read through Go's network poller: the goroutine parks and no
// thread is held, as with a Go timer, but the kernel's high-resolution timer wakes the poller
// on time.
type fdPacer struct {
	ctx  context.Context
	fd   int
	f    *os.File
	stop func() bool
	buf  [8]byte
}

// newPrecisePacer is a timerfd pacer, or nil when the kernel refuses a timerfd.
func newPrecisePacer(ctx context.Context) pacer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	// A non-blocking descriptor makes a File the poller waits on (and f.Fd, which would make it
	// blocking, is never called: the descriptor is kept apart).
	f := os.NewFile(uintptr(fd), "timerfd")
	p := &fdPacer{ctx: ctx, fd: fd, f: f}
	p.stop = context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	return p
}

func (p *fdPacer) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		return newTimerPacer(p.ctx).wait(d)
	}
	_, err := p.f.Read(p.buf[:])
	return err == nil
}

func (p *fdPacer) close() {
	p.stop()
	_ = p.f.Close()
}

// hasTimerfd: PacePrecise can wait on a timerfd here.
const hasTimerfd = true
