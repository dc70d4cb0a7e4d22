package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
	"github.com/klauspost/compress/gzip"
)

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
	rows int // rows the request carried, for the monitor (setRows)
}

// setRows tells the monitor how many rows the request behind w carried.
func setRows(w http.ResponseWriter, n int) {
	if sw, ok := w.(*statusWriter); ok {
		sw.rows = n
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (pprof's profiles set deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument wraps the whole mux: it recovers panics into a 500, bounds the body (size, time,
// encoding), applies the request timeout, and records metrics and logs per route pattern. A
// stream (stream.go) gets StreamMaxDuration instead, bounds its body itself, and is tracked
// by its batches rather than as one long request.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		stream, timeout := isStream(r), s.cfg.RequestTimeout
		if stream {
			timeout = s.cfg.StreamMaxDuration
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.code == 0 {
					writeError(sw, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
				}
			}
			d := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.observeRequest(route, r.Method, sw.code, d)
			var failed error
			if sw.code >= 500 {
				failed = errServerFailed
			}
			if !stream {
				s.monitor.Tracker().Add(monitor.Result{Op: route, Duration: d, Rows: sw.rows, Err: failed})
			}
			switch {
			case sw.code >= 500:
				s.log.Error("request failed", "method", r.Method, "route", route, "status", sw.code, "duration", d)
			case d > s.cfg.SlowRequest && !stream:
				s.log.Warn("slow request", "method", r.Method, "route", route, "status", sw.code, "duration", d)
			}
		}()
		if r.Body != nil && r.Body != http.NoBody && !stream {
			body, e := s.boundBody(w, r, start)
			if e != nil {
				closeAfter(sw, r)
				writeError(sw, e)
				return
			}
			r.Body = body
		}
		next.ServeHTTP(sw, r)
	})
}

// boundBody wraps r's body so that reading it is bounded in size (MaxBodyBytes, after
// decompression too) and in time (BodyReadTimeout from start: a client trickling its body
// is cut off then). Content-Encoding gzip is accepted, any other encoding is 415.
func (s *Server) boundBody(w http.ResponseWriter, r *http.Request, start time.Time) (io.ReadCloser, *apiError) {
	var body io.ReadCloser = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		body = http.MaxBytesReader(w, &lazyGzip{src: body}, s.cfg.MaxBodyBytes)
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupported, "content encoding %q: send the body plain or gzip-compressed", truncate(enc, 64))
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(start.Add(s.cfg.BodyReadTimeout)); err != nil {
		return body, nil // a ResponseWriter without a connection (a test recorder): nothing to bound
	}
	return &deadlineBody{ReadCloser: body, rc: rc}, nil
}

// deadlineBody lifts the body's read deadline once the body has been read to its end: from
// then on net/http reads the connection only to notice the client going away, and a deadline
// passing there would cancel the request.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// lazyGzip decompresses src, reading gzip's header only on the first Read: nothing of the body
// is read before the handler (after authentication) asks for it.
type lazyGzip struct {
	src io.ReadCloser
	zr  *gzip.Reader
	err error
}

func (z *lazyGzip) Read(p []byte) (int, error) {
	if z.zr == nil && z.err == nil {
		z.zr, z.err = gzip.NewReader(z.src)
		if z.err != nil {
			var maxb *http.MaxBytesError
			if !errors.As(z.err, &maxb) && !errors.Is(z.err, os.ErrDeadlineExceeded) {
				z.err = errBadEncoding
			}
		}
	}
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.zr.Read(p)
	if err != nil && err != io.EOF {
		var maxb *http.MaxBytesError
		if !errors.As(err, &maxb) && !errors.Is(err, os.ErrDeadlineExceeded) {
			err = errBadEncoding
		}
	}
	return n, err
}

func (z *lazyGzip) Close() error { return z.src.Close() }

var errBadEncoding = errors.New("the body is not valid gzip (Content-Encoding: gzip)")

// closeAfter makes the connection close after this answer without reading what is left of
// r's body: a refused client (unauthenticated, over a limit) may not make the server wait for,
// or read, a body it will not use.
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// limit admits an API request when the server has room for it: fewer than MaxInFlight
// requests, and the bodies held (by their declared length; MaxBodyBytes when not declared)
// under MaxInFlightBytes. Otherwise it answers 503 with Retry-After at once: a queue of waiting
// requests would only hold more memory and connections.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			// Refused on its declared length, before any of it is read or waited for.
			closeAfter(w, r)
			writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body of %d bytes over the limit of %d bytes", r.ContentLength, s.cfg.MaxBodyBytes))
			return
		}
		n := r.ContentLength // at most MaxBodyBytes by now
		if n < 0 || (n > 0 && r.Header.Get("Content-Encoding") != "") {
			n = s.cfg.MaxBodyBytes // not declared, or compressed: the most it may grow to
		}
		select {
		case s.inflight <- struct{}{}:
		default:
			s.refuse(w, r, "too many requests in flight")
			return
		}
		defer func() { <-s.inflight }()
		if s.inflightBytes.Add(n) > s.cfg.MaxInFlightBytes {
			s.inflightBytes.Add(-n)
			s.refuse(w, r, "too many request bytes in flight")
			return
		}
		defer s.inflightBytes.Add(-n)
		next.ServeHTTP(w, r)
	})
}

// refuse answers 503 with Retry-After for a request the server has no room for.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, why string) {
	s.metrics.refused.WithLabelValues(why).Inc()
	w.Header().Set("Retry-After", "1")
	closeAfter(w, r)
	writeError(w, errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server is at capacity (%s): retry after 1 s", why))
}

// HashAPIKey is how API keys are kept: the hex SHA-256 of the key. The server never holds a
// key in clear, only hashes, and compares them in constant time.
func HashAPIKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// authorized reports whether r carries a valid key (always, when no key is configured).
func (s *Server) authorized(r *http.Request) bool {
	if len(s.keyHashes) == 0 {
		return true
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	valid := 0
	for _, h := range s.keyHashes {
		valid |= subtle.ConstantTimeCompare(sum[:], h)
	}
	return valid == 1
}

// requireKey guards a handler with the API keys. A request without a valid key is refused
// before anything of its body is read, and its connection is closed after the answer.
func (s *Server) requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			closeAfter(w, r)
			if r.Header.Get("Authorization") == "" {
				writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "missing API key: send Authorization: Bearer <key>"))
			} else {
				writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "invalid API key"))
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logger returns l, or a logger that discards everything.
func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
