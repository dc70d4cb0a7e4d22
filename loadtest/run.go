package loadtest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Run sends the requests opts describe and returns what it measured. It returns when the
// run's bound (Duration or Requests) is reached and the requests in flight have finished, or
// when ctx ends: then with the result so far and ctx's error. Requests cut short by ctx are not
// counted. No goroutine of the run outlives it.
func Run(ctx context.Context, opts Options) (*Result, error) {
	return run(ctx, opts, nil, nil)
}

// inspector reads a successful answer's body (the train stress test's training time); it is
// called with the shard's lock held.
type inspector func(body []byte, sh *shard)

type runner struct {
	opts    Options
	client  *http.Client
	header  http.Header
	inspect inspector
	// raw: the generator's own HTTP/1.1 client (rawhttp.go) sends, with these header lines.
	raw       bool
	rawHeader []byte
	dialer    *net.Dialer
	// pool holds the open model's idle connections, the last used on top: an in-flight slot
	// takes one per request, so the connections number the most requests in flight at once,
	// not the slots, and the busiest stay warm.
	poolMu   sync.Mutex
	pool     []*rawConn
	start    time.Time
	cpu0     time.Duration // processCPU at start
	interval float64       // open model: nanoseconds between scheduled requests
	limit    uint64        // requests, or no bound

	seq                     atomic.Uint64
	sent, done, ok, dropped atomic.Int64
	shards                  []*shard
}

// shard is the results of some of the workers: a few shards keep workers from queueing on one
// lock, and cost far less memory than a histogram per worker (~140 KB each).
type shard struct {
	mu                sync.Mutex
	lat, lag, server  *hdrhistogram.Histogram
	status            map[int]int64
	errs              map[string]int64
	reqs, ok, dropped int64
	late, in, out     int64
	lastSend, lastEnd time.Duration
	sent              int64
}

func (s *shard) addError(kind string) {
	if _, ok := s.errs[kind]; !ok && len(s.errs) >= MaxErrorKinds {
		kind = OtherErrors
	}
	s.errs[kind]++
}

// worker is one goroutine's reusable state.
type worker struct {
	id  int
	sh  *shard
	lr  io.LimitedReader
	buf bytes.Buffer
	raw *rawConn
}

// run is Run with an inspector of successful answers and keep, which receives the shards
// after the run (for what the inspector recorded in them).
func run(ctx context.Context, opts Options, inspect inspector, keep func([]*shard)) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, inspect: inspect, limit: ^uint64(0)}
	if opts.Requests > 0 {
		r.limit = uint64(opts.Requests)
	}
	if opts.Rate > 0 {
		r.interval = 1e9 / opts.Rate
	}
	r.header = opts.Header.Clone()
	if r.header == nil {
		r.header = http.Header{}
	}
	if r.header.Get("Content-Type") == "" {
		r.header.Set("Content-Type", "application/json")
	}
	n := opts.workers()
	var transport *http.Transport
	if usesRaw(&opts) {
		h, err := rawHeader(r.header)
		if err != nil {
			return nil, err
		}
		r.raw, r.rawHeader = true, h
		r.dialer = &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	} else if opts.Client != nil {
		r.client = opts.Client
	} else {
		transport = &http.Transport{
			Proxy:               nil, // it targets only the URL it is given
			DialContext:         (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        n,
			MaxIdleConnsPerHost: n,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			TLSHandshakeTimeout: opts.Timeout,
		}
		// No Client.Timeout: it costs a goroutine per request; each request's context has the
		// deadline instead (send).
		r.client = &http.Client{Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	nShards := min(n, 8)
	r.shards = make([]*shard, nShards)
	for i := range r.shards {
		s := &shard{lat: newHist(), status: map[int]int64{}, errs: map[string]int64{}}
		if opts.Rate > 0 {
			s.lag = newHist()
		}
		if inspect != nil {
			s.server = newHist()
		}
		r.shards[i] = s
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.start, r.cpu0 = time.Now(), processCPU()
	var wg sync.WaitGroup
	var jobs chan tick
	if opts.Rate > 0 {
		jobs = make(chan tick)
		wg.Go(func() { r.pace(runCtx, jobs) })
	}
	for i := range n {
		w := &worker{id: i, sh: r.shards[i%nShards]}
		if r.raw && opts.Rate == 0 {
			w.raw = &rawConn{dialer: r.dialer} // a client keeps its connection
		}
		wg.Go(func() {
			if w.raw != nil {
				defer w.raw.close()
			}
			if opts.Rate > 0 {
				r.openLoop(runCtx, w, jobs)
			} else {
				r.closedLoop(runCtx, w)
			}
		})
	}
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	if opts.Progress != nil {
		pwg.Go(func() { r.progressLoop(stop) })
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	if transport != nil {
		transport.CloseIdleConnections()
	}
	r.closePool()
	if keep != nil {
		keep(r.shards)
	}
	return r.result(), ctx.Err()
}

func (r *runner) progressLoop(stop <-chan struct{}) {
	t := time.NewTicker(r.opts.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			sent, done := r.sent.Load(), r.done.Load()
			r.opts.Progress(Progress{Elapsed: time.Since(r.start), Sent: sent, Done: done, Successes: r.ok.Load(),
				Dropped: r.dropped.Load(), InFlight: sent - done})
		}
	}
}

// tick is a request of the open model handed to a slot: its number, when it was due, and
// whether it waited for a free slot (late).
type tick struct {
	seq  uint64
	due  time.Duration
	late bool
}

// pace is the open model's schedule: request seq is due at seq x interval from the start. At
// each due time it hands the request to a free slot (openLoop). When every slot is busy it
// waits for one, and the request is late: its latency counts from its due time, since the
// wait the service caused is part of what users would feel (coordinated omission). A request
// handed over on time but sent a little late only because the pacer woke late counts from when
// it was sent: the service did not cause that wait; SendLag reports it. A request more than
// MaxLag behind schedule is dropped. pace closes jobs when the run's bound is reached or ctx
// ends.
func (r *runner) pace(ctx context.Context, jobs chan<- tick) {
	defer close(jobs)
	p := newPacer(ctx, r.opts.Pacing)
	defer p.close()
	sh := r.shards[0]
	for seq := uint64(0); seq < r.limit && ctx.Err() == nil; seq++ {
		due := time.Duration(float64(seq) * r.interval)
		if r.opts.Duration > 0 && due >= r.opts.Duration {
			return
		}
		if now := time.Since(r.start); now < due {
			if !p.wait(due - now) {
				return
			}
		} else if now-due > r.opts.MaxLag {
			r.dropped.Add(1)
			sh.mu.Lock()
			sh.reqs++
			sh.dropped++
			sh.addError("dropped: more than max lag behind schedule (every in-flight slot busy)")
			sh.mu.Unlock()
			continue
		}
		t := tick{seq: seq, due: due}
		select {
		case jobs <- t:
			continue
		default:
		}
		t.late = true
		select {
		case jobs <- t:
		case <-ctx.Done():
			return
		}
	}
}

// openLoop is one in-flight slot of the open model: it sends the requests pace hands it.
func (r *runner) openLoop(ctx context.Context, w *worker, jobs <-chan tick) {
	for t := range jobs {
		sent := time.Since(r.start)
		from := sent
		if t.late {
			from = t.due
		}
		if !r.do(ctx, w, t.seq, from, sent, sent-t.due, t.late) {
			return
		}
	}
}

// closedLoop is one client of the closed model.
func (r *runner) closedLoop(ctx context.Context, w *worker) {
	for {
		seq := r.seq.Add(1) - 1
		if seq >= r.limit || ctx.Err() != nil {
			return
		}
		sent := time.Since(r.start)
		if r.opts.Duration > 0 && sent >= r.opts.Duration {
			return
		}
		if !r.do(ctx, w, seq, sent, sent, 0, false) {
			return
		}
	}
}

// do sends request seq and records it; latency counts from from. It reports false when ctx
// ended (the request is then not recorded).
func (r *runner) do(ctx context.Context, w *worker, seq uint64, from, sent, lag time.Duration, late bool) bool {
	r.sent.Add(1)
	pick := seq
	if r.opts.byClient {
		pick = uint64(w.id)
	}
	t := r.opts.Targeter.Target(pick)
	status, kind, in := r.send(ctx, w, t)
	end := time.Since(r.start)
	if kind != "" && ctx.Err() != nil {
		return false
	}
	r.done.Add(1)
	ok := kind == ""
	if ok {
		r.ok.Add(1)
	}
	sh := w.sh
	sh.mu.Lock()
	sh.reqs++
	sh.sent++
	_ = sh.lat.RecordValue(micros(end - from))
	if sh.lag != nil {
		_ = sh.lag.RecordValue(micros(lag))
	}
	if late {
		sh.late++
	}
	if status != 0 {
		sh.status[status]++
	}
	if ok {
		sh.ok++
		if r.inspect != nil {
			r.inspect(w.buf.Bytes(), sh)
		}
	} else {
		sh.addError(kind)
	}
	sh.in += in
	sh.out += int64(len(t.Body))
	sh.lastSend = max(sh.lastSend, sent)
	sh.lastEnd = max(sh.lastEnd, end)
	sh.mu.Unlock()
	return true
}

// bodyReader is a request body: a bytes.Reader that closes.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// send makes one request and reads its answer: the status (0 without an answer), the failure's
// kind ("" for a 2xx answer read whole) and the bytes of body read.
func (r *runner) send(ctx context.Context, w *worker, t *Target) (status int, kind string, in int64) {
	if r.raw {
		return r.rawSend(ctx, w, t)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := r.request(ctx, t)
	if err != nil {
		return 0, errorKind(err), 0
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, errorKind(err), 0
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	good := status >= 200 && status < 300
	limit := r.opts.MaxResponseBytes
	w.buf.Reset()
	w.lr.R, w.lr.N = resp.Body, limit+1
	switch {
	case good && r.inspect == nil:
		in, err = io.Copy(io.Discard, &w.lr)
	case good:
		in, err = w.buf.ReadFrom(&w.lr)
	default:
		// Keep the start of an error answer for its code; read the rest to reuse the connection.
		w.lr.N = 4096
		in, err = w.buf.ReadFrom(&w.lr)
		if err == nil {
			w.lr.N = limit + 1 - in
			var n int64
			n, err = io.Copy(io.Discard, &w.lr)
			in += n
		}
	}
	w.lr.R = nil
	switch {
	case err != nil:
		return status, errorKind(err), in
	case in > limit:
		return status, errorKind(errTooLarge), limit
	case !good:
		return status, statusKind(status, w.buf.Bytes()), in
	}
	return status, "", in
}

// request builds the request for t with the run's header and context.
func (r *runner) request(ctx context.Context, t *Target) (*http.Request, error) {
	if t.u == nil {
		req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(t.Body))
		if err != nil {
			return nil, err
		}
		req.Header = r.header
		return req, nil
	}
	body := t.Body
	rd := &bodyReader{}
	rd.Reset(body)
	req := &http.Request{
		Method: t.Method, URL: t.u, Host: t.u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: r.header, Body: rd, ContentLength: int64(len(body)),
		GetBody: func() (io.ReadCloser, error) {
			b := &bodyReader{}
			b.Reset(body)
			return b, nil
		},
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	return req.WithContext(ctx), nil
}

// result merges the shards.
func (r *runner) result() *Result {
	o := r.opts
	res := &Result{Model: Closed, Concurrency: o.Concurrency, StatusCodes: map[string]int64{}, hist: newHist()}
	if o.Rate > 0 {
		res.Model, res.Rate, res.Concurrency, res.MaxInFlight = Open, o.Rate, 0, o.MaxInFlight
		res.Pacing = o.Pacing.String()
	}
	var lag *hdrhistogram.Histogram
	if o.Rate > 0 {
		lag = newHist()
	}
	errs := map[string]int64{}
	var lastSend, lastEnd time.Duration
	var sent int64
	for _, s := range r.shards {
		s.mu.Lock()
		res.hist.Merge(s.lat)
		if lag != nil {
			lag.Merge(s.lag)
		}
		for code, n := range s.status {
			res.StatusCodes[statusKey(code)] += n
		}
		for k, n := range s.errs {
			errs[k] += n
		}
		res.Requests += s.reqs
		res.Successes += s.ok
		res.Dropped += s.dropped
		res.Late += s.late
		res.BytesIn += s.in
		res.BytesOut += s.out
		sent += s.sent
		lastSend = max(lastSend, s.lastSend)
		lastEnd = max(lastEnd, s.lastEnd)
		s.mu.Unlock()
	}
	res.Elapsed = lastEnd
	if res.Elapsed <= 0 {
		res.Elapsed = time.Since(r.start)
	}
	if res.Requests > 0 {
		res.SuccessRate = float64(res.Successes) / float64(res.Requests)
	}
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Successes) / res.Elapsed.Seconds()
	}
	if sent > 1 && lastSend > 0 {
		res.SentRate = float64(sent-1) / lastSend.Seconds()
	}
	res.Latency = summarize(res.hist)
	if lag != nil {
		l := summarize(lag)
		res.SendLag = &l
	}
	if cpu := processCPU(); r.cpu0 > 0 && cpu > r.cpu0 {
		res.GeneratorCPUSeconds = (cpu - r.cpu0).Seconds()
	}
	res.Errors = errorCounts(errs)
	res.Percentiles = curve(res.hist)
	res.Histogram = buckets(res.hist)
	return res
}
