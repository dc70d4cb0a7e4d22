package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
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

// instrument wraps the whole mux: it recovers panics into a 500, limits the body, applies the
// request timeout, and records metrics and logs per route pattern.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
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
			switch {
			case sw.code >= 500:
				s.log.Error("request failed", "method", r.Method, "route", route, "status", sw.code, "duration", d)
			case d > s.cfg.SlowRequest:
				s.log.Warn("slow request", "method", r.Method, "route", route, "status", sw.code, "duration", d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
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

// requireKey guards a handler with the API keys.
func (s *Server) requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
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
