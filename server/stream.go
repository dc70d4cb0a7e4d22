package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
)

// Streaming detection: POST /api/v1/detection/stream?detector_id=ID takes newline-delimited
// JSON rows and answers newline-delimited scores, a batch at a time (docs/api.md).
//
// The loop is read a batch, score it, write and flush its scores, read the next: the server
// holds one batch and one line at most, and a client that does not read its answers stops
// being read (back-pressure through TCP). A batch ends when it is full or when no complete
// line is waiting to be read, so a client sending a row now and then gets each score at once,
// and one sending fast gets batches as large as what has arrived.

// streamPath is the endpoint's path: the middleware gives it the stream's bounds instead of
// the whole-body ones.
const streamPath = "/api/v1/detection/stream"

// The defaults of Config's stream bounds.
const (
	DefaultStreamBatchRows    = 1024
	DefaultStreamMaxLineBytes = 1 << 20
	DefaultStreamIdleTimeout  = 30 * time.Second
	DefaultStreamMaxDuration  = time.Hour
	DefaultMaxStreams         = 16
)

// streamBatchBytes bounds the values of one batch (8 MiB of float64s): a detector of many
// columns gets batches of fewer rows.
const streamBatchBytes = 8 << 20

// streamReadBuffer is the size of a stream's read buffer; a longer line is gathered apart, up
// to StreamMaxLineBytes.
const streamReadBuffer = 64 << 10

// streamOp is the monitor's operation for each batch of a stream scored and answered. A
// stream lasts as long as its client pushes rows: as one operation its duration would swamp
// the service's response time, so the middleware does not track the request, and the batches
// are tracked instead (not counted among the API's requests).
const streamOp = "detection stream batch"

// errShuttingDown ends the streams when the server shuts down.
var errShuttingDown = errors.New("the server is shutting down")

// isStream reports whether r is for the stream endpoint, which bounds its body and time itself.
func isStream(r *http.Request) bool { return r.URL.Path == streamPath && r.Method == http.MethodPost }

// streamSet holds the streams being served: their slots (MaxStreams) and how to end them at
// shutdown.
type streamSet struct {
	slots  chan struct{}
	mu     sync.Mutex
	closed bool
	live   map[*int]context.CancelCauseFunc
}

func newStreamSet(n int) *streamSet {
	return &streamSet{slots: make(chan struct{}, n), live: map[*int]context.CancelCauseFunc{}}
}

// add registers a stream's cancel; it returns the function that unregisters it, or false when
// the server is shutting down.
func (ss *streamSet) add(cancel context.CancelCauseFunc) (func(), bool) {
	k := new(int)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, false
	}
	ss.live[k] = cancel
	return func() {
		ss.mu.Lock()
		delete(ss.live, k)
		ss.mu.Unlock()
	}, true
}

// shutdown ends every stream (each answers its scores so far and an unavailable line) and
// refuses new ones.
func (ss *streamSet) shutdown() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for _, cancel := range ss.live {
		cancel(errShuttingDown)
	}
}

// active is how many streams are being served (tests).
func (ss *streamSet) active() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.live)
}

// streamMemory is what one stream may hold at once, by its bounds: counted against
// MaxInFlightBytes as a request body is.
func (s *Server) streamMemory() int64 {
	return int64(streamReadBuffer+s.cfg.StreamMaxLineBytes+streamBatchBytes) + int64(s.cfg.StreamBatchRows)*(8+streamRowLine)
}

// streamRowLine is about the size of one answered row's line.
const streamRowLine = 64

// limitStream admits a stream when there is room for it: a stream slot (MaxStreams), an API
// slot (MaxInFlight) and its memory bound within MaxInFlightBytes. Otherwise 503 with
// Retry-After, at once. Unlike limit, it does not refuse a body by its declared length: a
// stream's body has no size limit, only its lines and batches have.
func (s *Server) limitStream(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.streams.slots <- struct{}{}:
		default:
			s.refuse(w, r, "too many streams")
			return
		}
		defer func() { <-s.streams.slots }()
		select {
		case s.inflight <- struct{}{}:
		default:
			s.refuse(w, r, "too many requests in flight")
			return
		}
		defer func() { <-s.inflight }()
		n := s.streamMemory()
		if s.inflightBytes.Add(n) > s.cfg.MaxInFlightBytes {
			s.inflightBytes.Add(-n)
			s.refuse(w, r, "too many request bytes in flight")
			return
		}
		defer s.inflightBytes.Add(-n)
		next.ServeHTTP(w, r)
	})
}

// streamFailed is the last line of a stream that failed, and the body of a stream refused
// before any score was answered. Rows is how many rows were scored and answered before it (the
// next row to send again is that one, counted from 0); Line the line at fault, when one is.
type streamFailed struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	Line      int    `json:"line,omitempty"`
	Rows      int    `json:"rows"`
	Anomalies int    `json:"anomalies"`
}

// streamDone is the last line of a stream that ended well: the rows scored, the anomalies
// among them, and the threshold and version of the model that scored the last batch.
type streamDone struct {
	Done      bool    `json:"done"`
	Rows      int     `json:"rows"`
	Anomalies int     `json:"anomalies"`
	Threshold float64 `json:"threshold"`
	Version   int64   `json:"version"`
}

// streamEnd is why a stream ended early.
type streamEnd struct {
	status int
	code   string
	msg    string
	line   int
	cause  error // behind a 5xx: logged, never sent
	gone   bool  // the client went away: nothing can be answered
}

func endf(status int, code string, line int, format string, args ...any) *streamEnd {
	return &streamEnd{status: status, code: code, line: line, msg: fmt.Sprintf(format, args...)}
}

// stream is one stream being served.
type stream struct {
	s         *Server
	w         http.ResponseWriter
	rc        *http.ResponseController
	ctx       context.Context
	id        string
	cols      int
	batchRows int
	lines     *lineReader
	body      *idleBody

	batch     dataset.Matrix
	out       []byte
	started   bool // the header and some output went out: errors are lines from now on
	http1     bool
	rows      int // rows scored and answered
	anomalies int
	threshold float64
	version   int64
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) *apiError {
	e := s.serveStream(w, r)
	if e != nil {
		// Refused before the stream started: net/http would otherwise wait, without a
		// deadline, for up to 256 KB of a body it will not use.
		closeAfter(w, r)
	}
	return e
}

func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	for k := range q {
		if k != "detector_id" {
			return errorf(http.StatusBadRequest, CodeBadRequest, "query parameter %s: unknown (the stream takes detector_id)", strconv.Quote(truncate(k, 64)))
		}
	}
	if len(q["detector_id"]) != 1 || q.Get("detector_id") == "" {
		return errorf(http.StatusBadRequest, CodeBadRequest, "send one detector_id in the query string: POST %s?detector_id=ID", streamPath)
	}
	id := q.Get("detector_id")
	if ct := r.Header.Get("Content-Type"); !streamContentType(ct) {
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupported, "content type %q: send application/x-ndjson (one JSON array of numbers a line)", truncate(ct, 64))
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" && enc != "x-gzip" {
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupported, "content encoding %q: send the body plain or gzip-compressed", truncate(enc, 64))
	}
	l, err := s.serving.Live(r.Context(), id)
	if err != nil {
		return toAPI(err)
	}

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	done, ok := s.streams.add(cancel)
	if !ok {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server is shutting down")
	}
	defer done()

	rc := http.NewResponseController(w)
	// Reading the body after the answer has started is what a stream is; HTTP/2 always can
	// (ErrNotSupported there).
	_ = rc.EnableFullDuplex()
	body := &idleBody{r: r.Body, rc: rc, idle: s.cfg.StreamIdleTimeout}
	stop := context.AfterFunc(ctx, body.stop) // shutdown, the longest duration: stop reading now
	defer stop()
	var src io.Reader = body
	if enc == "gzip" || enc == "x-gzip" {
		src = &lazyGzip{src: io.NopCloser(body)}
	}
	st := &stream{s: s, w: w, rc: rc, ctx: ctx, id: id, cols: l.Model.Cols,
		lines: newLineReader(src, s.cfg.StreamMaxLineBytes), body: body,
		threshold: l.Model.Threshold, version: l.Version, http1: r.ProtoMajor == 1}
	st.batchRows = min(s.cfg.StreamBatchRows, max(1, streamBatchBytes/(8*max(st.cols, 1))))
	st.batch = dataset.Matrix{Cols: st.cols, Data: make([]float64, 0, st.batchRows*st.cols)}
	end := st.run()
	if end == nil {
		st.finish()
		return nil
	}
	if end.cause != nil {
		s.log.Error("stream failed", "detector", id, "rows", st.rows, "status", end.status, "err", end.cause)
	}
	st.save()
	if end.gone && st.started {
		return nil // nothing can be answered; the connection is dead
	}
	f := streamFailed{Error: truncate(end.msg, maxErrorText), Code: end.code, Line: end.line, Rows: st.rows, Anomalies: st.anomalies}
	if !st.started {
		closeAfter(w, r) // what is left of the body is not read
		writeJSON(w, end.status, f)
		return nil
	}
	b, _ := json.Marshal(f) // strings and ints only: cannot fail
	if st.write(append(b, '\n')) == nil {
		st.closeConn(r)
	}
	return nil
}

// closeConn ends the answer of a stream that ends before its body and closes the connection.
// Left to net/http, the rest of the body would be read as far as 256 KB to keep the
// connection, and in full-duplex mode that read can race the reading of the next request
// ("invalid concurrent Body.Read call", Go 1.26); a stream that failed keeps no connection.
func (st *stream) closeConn(r *http.Request) {
	conn, bw, err := st.rc.Hijack()
	if err != nil {
		return // HTTP/2: the stream is reset when the handler returns
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(streamLinger))
	if r.ProtoAtLeast(1, 1) {
		_, _ = bw.WriteString("0\r\n\r\n") // the end of the chunked answer
		_ = bw.Flush()
	}
	// Closing with unread bytes would reset the connection, and the client could lose the
	// end of the answer: close our side, then read what comes until the client closes its
	// side or streamLinger passes.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, conn)
}

// streamLinger bounds how long a failed stream's connection is drained before it is closed.
const streamLinger = 500 * time.Millisecond

// run reads, scores and answers batches until the body ends (nil) or something ends the
// stream early.
func (st *stream) run() *streamEnd {
	for {
		if st.batch.Rows > 0 && (st.batch.Rows >= st.batchRows || !st.lines.ready()) {
			if end := st.flush(); end != nil {
				return end
			}
		}
		line, err := st.lines.next()
		if err == io.EOF {
			return st.flush()
		}
		if err != nil {
			end := st.readFailure(err)
			if st.batch.Rows > 0 && !end.gone {
				// The rows read before it were whole: answer them first.
				if fe := st.flush(); fe != nil {
					return fe
				}
			}
			return end
		}
		var pe *lineError
		st.batch.Data, pe = parseRow(line, st.batch.Data, st.cols)
		if pe != nil {
			end := endf(http.StatusBadRequest, pe.code, st.lines.line, "line %d%s", st.lines.line, pe.msg)
			if fe := st.flush(); fe != nil {
				return fe
			}
			return end
		}
		st.batch.Rows++
	}
}

// readFailure says why reading the body failed.
func (st *stream) readFailure(err error) *streamEnd {
	next := st.lines.line + 1
	cause := context.Cause(st.ctx)
	switch {
	case errors.Is(cause, errShuttingDown):
		return endf(http.StatusServiceUnavailable, CodeUnavailable, 0, "the server is shutting down: send the rows from row %d again", st.rows+st.batch.Rows)
	case errors.Is(cause, context.DeadlineExceeded):
		return endf(http.StatusRequestTimeout, CodeTimeout, 0, "the stream reached its longest duration (%s): open a new stream for the rows from row %d", st.s.cfg.StreamMaxDuration, st.rows+st.batch.Rows)
	case errors.Is(err, errLineTooLong):
		return endf(http.StatusRequestEntityTooLarge, CodeTooLarge, next, "line %d is longer than the limit of %d bytes", next, st.s.cfg.StreamMaxLineBytes)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return endf(http.StatusRequestTimeout, CodeTimeout, 0, "no data for %s after line %d: the stream was idle too long", st.s.cfg.StreamIdleTimeout, st.lines.line)
	case errors.Is(err, errBadEncoding):
		return endf(http.StatusBadRequest, CodeBadRequest, 0, "%s", plain(err))
	}
	// The body ended early (a chunked body cut short) or the connection is gone: the end line
	// is answered if it still can be.
	return &streamEnd{status: http.StatusBadRequest, code: CodeBadRequest, msg: fmt.Sprintf("the request body was cut short after line %d", st.lines.line), gone: cause != nil}
}

// flush scores the rows of the batch and answers their scores.
func (st *stream) flush() *streamEnd {
	if st.batch.Rows == 0 {
		return nil
	}
	t0 := time.Now()
	n := st.batch.Rows
	// The batch was read whole: it is scored and answered even when the stream is ending
	// (shutdown, its longest duration, an idle client), bounded by the idle timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(st.ctx), st.s.cfg.StreamIdleTimeout)
	defer cancel()
	l, scores, err := st.score(ctx)
	if err != nil {
		st.s.monitor.Tracker().Add(monitor.Result{Op: streamOp, Duration: time.Since(t0), Err: err})
		return st.scoreFailure(err)
	}
	// Its only error is rows of another width than the model's, which Score refused already.
	_ = st.s.monitor.Health().Observe(l.ID, l.Version, l.Model, &st.batch, scores)
	st.threshold, st.version = l.Model.Threshold, l.Version
	out := st.out[:0]
	for i, v := range scores {
		a := l.Model.IsAnomaly(v)
		if a {
			st.anomalies++
		}
		out = append(out, `{"row":`...)
		out = strconv.AppendInt(out, int64(st.rows+i), 10)
		out = append(out, `,"score":`...)
		out = strconv.AppendFloat(out, v, 'g', -1, 64) // finite: Score refuses non-finite scores
		out = append(out, `,"is_anomaly":`...)
		out = strconv.AppendBool(out, a)
		out = append(out, "}\n"...)
	}
	st.out = out
	st.rows += n
	st.batch.Rows, st.batch.Data = 0, st.batch.Data[:0]
	// The server's time on the batch, not the wait for the client to take it (a slow reader
	// is not a slow service).
	st.s.monitor.Tracker().Add(monitor.Result{Op: streamOp, Duration: time.Since(t0), Rows: n})
	if st.write(out) != nil {
		return &streamEnd{gone: true}
	}
	return nil
}

// score scores the batch with the detector's live model, read again for each batch: a
// detector retrained during the stream scores the next batch with its new version, one
// deleted ends the stream.
func (st *stream) score(ctx context.Context) (*serving.Live, []float64, error) {
	for attempt := 0; ; attempt++ {
		l, err := st.s.serving.Live(ctx, st.id)
		if err != nil {
			return nil, nil, err
		}
		if l.Model.Cols != st.cols {
			return nil, nil, errRetrainedWidth{was: st.cols, now: l.Model.Cols}
		}
		scores, err := l.Score(ctx, &st.batch)
		if errors.Is(err, optimize.ErrClosed) && attempt == 0 {
			continue // a single row met the batcher of a version just replaced: read it again
		}
		return l, scores, err
	}
}

type errRetrainedWidth struct{ was, now int }

func (e errRetrainedWidth) Error() string {
	return fmt.Sprintf("the detector was retrained on rows of %d values during the stream, which sends rows of %d: open a new stream", e.now, e.was)
}

// scoreFailure answers a failed batch in the API's terms.
func (st *stream) scoreFailure(err error) *streamEnd {
	var rw errRetrainedWidth
	if errors.As(err, &rw) {
		return endf(http.StatusConflict, CodeConflict, 0, "%s", rw.Error())
	}
	e := toAPI(err)
	if errors.Is(err, store.ErrNotFound) {
		e.Msg += " (deleted during the stream?)"
	}
	return &streamEnd{status: e.Status, code: e.Code, msg: e.Msg, cause: e.Cause}
}

// write sends b and flushes it, within the idle timeout: a client that stops reading its
// answers is cut off then.
func (st *stream) write(b []byte) error {
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.s.cfg.StreamIdleTimeout))
	if !st.started {
		st.started = true
		h := st.w.Header()
		h.Set("Content-Type", "application/x-ndjson")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // a proxy in front (nginx) must not hold the lines back
		// The connection ends with the stream: one that fails before its body ends is closed
		// (closeConn), and a client must not pick it up for its next request meanwhile.
		if st.http1 {
			h.Set("Connection", "close")
		}
		st.w.WriteHeader(http.StatusOK)
	}
	if _, err := st.w.Write(b); err != nil {
		return err
	}
	return st.rc.Flush()
}

// finish answers the end line of a stream that ended well, stores its result, and lifts the
// write deadline so that the connection can serve its next request.
func (st *stream) finish() {
	st.save()
	b, _ := json.Marshal(streamDone{Done: true, Rows: st.rows, Anomalies: st.anomalies, Threshold: st.threshold, Version: st.version})
	if st.write(append(b, '\n')) == nil {
		_ = st.rc.SetWriteDeadline(time.Time{})
	}
}

// save stores the stream's summary as one detection result (its rows, anomalies and last
// threshold; never the scores, which a long stream has millions of), when it scored a row.
func (st *stream) save() {
	if st.rows == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(st.ctx), 5*time.Second)
	defer cancel()
	res := &store.Result{DetectorID: st.id, NSamples: st.rows, Anomalies: st.anomalies, Threshold: st.threshold}
	if err := st.s.results.Put(ctx, res); err != nil {
		st.s.log.Warn("stream: its result was not stored", "detector", st.id, "rows", st.rows, "err", err)
	}
}

// streamContentType accepts the media types of newline-delimited JSON, JSON's, and what
// clients send by default for a body (none, curl's form type, text/plain).
func streamContentType(ct string) bool {
	if jsonContentType(ct) {
		return true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines":
		return true
	}
	return false
}
