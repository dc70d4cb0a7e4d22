package loadtest

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Options configure a run. The model is chosen by Rate: a positive Rate runs the open model at
// that many requests per second, with at most MaxInFlight requests outstanding; a zero Rate
// runs the closed model with Concurrency clients. A run ends at Duration or after Requests
// requests, whichever comes first; at least one must be set.
type Options struct {
	// Targeter gives each request (required).
	Targeter Targeter

	// Rate, in requests per second, runs the open model (at most MaxRate).
	Rate float64
	// MaxInFlight bounds the open model's outstanding requests (default DefaultMaxInFlight,
	// at most MaxConcurrency). A request due while every slot is busy goes late, measured from
	// its due time; one more than MaxLag late is dropped.
	MaxInFlight int
	// MaxLag is how far behind schedule the open model still sends a request (default 1 s).
	MaxLag time.Duration
	// Pacing is how the open model waits for each request's time (default PacePrecise).
	Pacing Pacing

	// Concurrency is the closed model's clients (1 to MaxConcurrency), each sending its next
	// request when the previous one is answered.
	Concurrency int

	// Duration bounds the run (at most MaxDuration): the open model schedules requests in
	// [0, Duration); the closed model sends none after it. In-flight requests finish (within
	// Timeout).
	Duration time.Duration
	// Requests bounds the number of requests (at most MaxRequests).
	Requests int64

	// Timeout bounds each request, answer read included (default DefaultTimeout).
	Timeout time.Duration
	// Header is sent with every request (an Authorization header, for instance); it is not
	// modified. Content-Type defaults to application/json.
	Header http.Header
	// Client sends the requests with net/http. Nil means the generator's own HTTP/1.1 client
	// for http:// targets (one keep-alive connection per worker, no allocation per request:
	// rawhttp.go), or for https:// a net/http client made for the run; either closes its
	// connections when the run ends. Timeout applies to every request whatever client sends it.
	Client *http.Client
	// MaxResponseBytes bounds each answer's body (default DefaultMaxResponseBytes); a larger
	// one is a failure, "response too large".
	MaxResponseBytes int64

	// Progress, when set, is called every ProgressEvery (default 1 s) from the run's own
	// goroutine with the counts so far; it should return quickly.
	Progress      func(Progress)
	ProgressEvery time.Duration

	// byClient: closed-model client k always sends Targeter.Target(k) (TrainOptions.OnePerClient).
	byClient bool
}

// Pacing is how the open model waits for each request's due time.
type Pacing int

const (
	// PacePrecise waits on the kernel's high-resolution timer (a timerfd read through Go's
	// network poller, on Linux; elsewhere as PaceTimer): requests leave evenly spaced, within
	// tens of microseconds of their time, at the cost of a wake-up per request (measured on a
	// 2-core VM: about 30 µs more CPU a request than PaceTimer).
	PacePrecise Pacing = iota
	// PaceTimer waits with Go's timers: a process with nothing else to do wakes up to a
	// millisecond late, so at thousands of requests a second they leave in bursts of a
	// millisecond's worth; cheaper, for a generator that must leave the cores to the service.
	PaceTimer
)

// String is the pacing's name, as ParsePacing reads it.
func (p Pacing) String() string {
	switch p {
	case PacePrecise:
		return "precise"
	case PaceTimer:
		return "timer"
	}
	return fmt.Sprintf("Pacing(%d)", int(p))
}

// ParsePacing reads "precise" or "timer".
func ParsePacing(s string) (Pacing, error) {
	switch s {
	case "precise":
		return PacePrecise, nil
	case "timer":
		return PaceTimer, nil
	}
	return 0, optErr("pacing %q: want precise or timer", s)
}

// Progress is a run's state while it runs.
type Progress struct {
	Elapsed   time.Duration
	Sent      int64 // requests sent so far
	Done      int64 // requests answered or failed so far
	Successes int64
	Dropped   int64
	InFlight  int64
}

// Defaults and bounds of Options.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxInFlight      = 256
	DefaultMaxLag           = time.Second
	DefaultMaxResponseBytes = 16 << 20
	MaxRate                 = 1_000_000
	MaxConcurrency          = 10_000
	MaxDuration             = 24 * time.Hour
	MaxRequests             = 1_000_000_000
	MaxTimeout              = 10 * time.Minute
)

// ErrOptions reports options that cannot be run.
var ErrOptions = errors.New("loadtest: bad options")

func optErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...))
}

// check validates o and fills in the defaults.
func (o *Options) check() error {
	switch {
	case o.Targeter == nil:
		return optErr("no Targeter")
	case math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > MaxRate:
		return optErr("rate %g: want 0 (closed model) or up to %d requests per second", o.Rate, MaxRate)
	case o.Rate > 0 && o.Concurrency != 0:
		return optErr("concurrency %d with rate %g: concurrency is the closed model's, give one (MaxInFlight bounds the open model)", o.Concurrency, o.Rate)
	case o.Rate == 0 && (o.Concurrency < 1 || o.Concurrency > MaxConcurrency):
		return optErr("concurrency %d: want 1 to %d clients (or a rate for the open model)", o.Concurrency, MaxConcurrency)
	case o.Rate == 0 && o.MaxInFlight != 0:
		return optErr("max in flight %d without a rate: it bounds the open model", o.MaxInFlight)
	case o.MaxInFlight < 0 || o.MaxInFlight > MaxConcurrency:
		return optErr("max in flight %d: want 1 to %d", o.MaxInFlight, MaxConcurrency)
	case o.Duration < 0 || o.Duration > MaxDuration:
		return optErr("duration %v: want up to %v", o.Duration, MaxDuration)
	case o.Requests < 0 || o.Requests > MaxRequests:
		return optErr("requests %d: want up to %d", o.Requests, MaxRequests)
	case o.Duration == 0 && o.Requests == 0:
		return optErr("neither a duration nor a number of requests: the run would not end")
	case o.Timeout < 0 || o.Timeout > MaxTimeout:
		return optErr("timeout %v: want up to %v", o.Timeout, MaxTimeout)
	case o.MaxLag < 0 || o.MaxLag > time.Hour:
		return optErr("max lag %v: want up to 1h", o.MaxLag)
	case o.Pacing != PacePrecise && o.Pacing != PaceTimer:
		return optErr("pacing %d: want PacePrecise or PaceTimer", int(o.Pacing))
	case o.MaxResponseBytes < 0:
		return optErr("max response bytes %d: must not be negative", o.MaxResponseBytes)
	case o.ProgressEvery < 0:
		return optErr("progress interval %v: must not be negative", o.ProgressEvery)
	}
	if o.Rate > 0 && o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxLag == 0 {
		o.MaxLag = DefaultMaxLag
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = time.Second
	}
	if o.ProgressEvery < 10*time.Millisecond {
		o.ProgressEvery = 10 * time.Millisecond
	}
	return nil
}

// workers is the number of goroutines that send: the clients, or the in-flight slots.
func (o *Options) workers() int {
	if o.Rate > 0 {
		return o.MaxInFlight
	}
	return o.Concurrency
}
