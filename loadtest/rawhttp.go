package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The generator's own HTTP/1.1 client, used for http:// targets when Options.Client is nil.
// net/http's client hands every request between three goroutines (the caller, the
// connection's writer and its reader) and allocates its headers: about 50 µs of CPU a request
// on this project's 2-core machine, where the generator shares the cores with the service it
// measures, against wrk's 20. Here each worker owns one keep-alive connection, writes the
// request in one write and parses the answer itself, on its own goroutine, allocating nothing
// per request (BenchmarkHTTP). It speaks only what a load test needs: one request at a time
// per connection, Content-Length or chunked answers, or answers that end with the connection.

// rawConn is one worker's connection.
type rawConn struct {
	dialer *net.Dialer
	c      net.Conn
	br     *bufio.Reader
	req    []byte // the request being sent, rebuilt in place
	stop   func() bool
	// host and head cache the last target's URL: "Host" and "POST /path HTTP/1.1\r\n...".
	lastURL string
	addr    string
	head    []byte
}

// Bounds of an answer's head.
const (
	rawBufSize     = 16 << 10 // a header line longer than this is an error
	rawMaxHeaders  = 256
	rawMaxInterims = 8 // 1xx answers before the final one
)

var (
	errHeaderTooLong = errors.New("malformed answer: header line too long")
	errTooManyHeader = errors.New("malformed answer: too many header lines")
	errMalformed     = errors.New("malformed answer")
)

// rawHeader is the header lines every request of a run carries, built once: the run's Header
// and Content-Type, without the fields the client sets itself.
func rawHeader(h http.Header) ([]byte, error) {
	var b []byte
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		switch ck {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		if !validHeaderText(k, true) {
			return nil, optErr("header name %q: not a valid HTTP header name", cut(k, 40))
		}
		for _, v := range vs {
			if !validHeaderText(v, false) {
				return nil, optErr("header %s: its value holds a control character", ck)
			}
			b = append(b, ck...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b, nil
}

func validHeaderText(s string, name bool) bool {
	if name && s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f || name && (c <= ' ' || c == ':') {
			return false
		}
	}
	return true
}

// prepare rebuilds the request line and fixed headers when t's URL is not the last one's.
func (rc *rawConn) prepare(t *Target, header []byte) error {
	if t.URL == rc.lastURL && rc.head != nil {
		return nil
	}
	u := t.u
	if u == nil || u.String() != t.URL {
		var err error
		if u, err = ParseURL(t.URL); err != nil {
			return err
		}
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%w: %s: the generator's own client speaks http only", ErrTargets, u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	if addr != rc.addr {
		rc.close()
		rc.addr = addr
	}
	method := t.Method
	if method == "" {
		method = "POST"
	}
	if !validHeaderText(method, true) {
		return fmt.Errorf("%w: method %q", ErrTargets, cut(method, 20))
	}
	h := append(rc.head[:0], method...)
	h = append(h, ' ')
	h = append(h, u.RequestURI()...)
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, u.Host...)
	h = append(h, "\r\n"...)
	h = append(h, header...)
	rc.head, rc.lastURL = h, t.URL
	return nil
}

func (rc *rawConn) close() {
	if rc.c != nil {
		if rc.stop != nil {
			rc.stop()
		}
		rc.c.Close()
		rc.c, rc.stop = nil, nil
	}
}

// dial connects; a ctx that ends unblocks the connection's reads and writes for good.
func (rc *rawConn) dial(ctx context.Context) error {
	c, err := rc.dialer.DialContext(ctx, "tcp", rc.addr)
	if err != nil {
		return err
	}
	rc.c = c
	if rc.br == nil {
		rc.br = bufio.NewReaderSize(c, rawBufSize)
	} else {
		rc.br.Reset(c)
	}
	rc.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// rawSend sends t on the worker's connection and reads the answer (as send does).
func (r *runner) rawSend(ctx context.Context, w *worker, t *Target) (status int, kind string, in int64) {
	rc := w.raw
	if rc == nil {
		rc = r.takeConn()
		defer r.putConn(rc)
	}
	if err := rc.prepare(t, r.rawHeader); err != nil {
		return 0, cut(err.Error(), 100), 0
	}
	req := append(rc.req[:0], rc.head...)
	req = append(req, "Content-Length: "...)
	req = strconv.AppendInt(req, int64(len(t.Body)), 10)
	req = append(req, "\r\n\r\n"...)
	req = append(req, t.Body...)
	rc.req = req
	deadline := time.Now().Add(r.opts.Timeout)
	for attempt := 0; ; attempt++ {
		reused := rc.c != nil
		if !reused {
			if err := rc.dial(ctx); err != nil {
				return 0, errorKind(err), 0
			}
		}
		_ = rc.c.SetDeadline(deadline)
		if _, err := rc.c.Write(req); err != nil {
			rc.close()
			if reused && attempt == 0 {
				continue // the service closed the idle connection: once more on a new one
			}
			return 0, errorKind(err), 0
		}
		status, in, closeAfter, err := r.readAnswer(rc.br, w)
		if err != nil {
			rc.close()
			if reused && attempt == 0 && status == 0 && (errors.Is(err, io.EOF) || isReset(err)) && rc.br.Buffered() == 0 {
				continue // closed while idle, before reading the request: once more
			}
			return status, errorKind(err), in
		}
		if closeAfter {
			rc.close()
		}
		if status < 200 || status > 299 {
			return status, statusKind(status, w.buf.Bytes()), in
		}
		return status, "", in
	}
}

// takeConn is an idle connection of the pool, or a new one (not yet dialled).
func (r *runner) takeConn() *rawConn {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	if n := len(r.pool); n > 0 {
		rc := r.pool[n-1]
		r.pool = r.pool[:n-1]
		return rc
	}
	return &rawConn{dialer: r.dialer}
}

func (r *runner) putConn(rc *rawConn) {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	r.pool = append(r.pool, rc)
}

// closePool closes the pool's connections when the run ends.
func (r *runner) closePool() {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	for _, rc := range r.pool {
		rc.close()
	}
	r.pool = nil
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && strings.Contains(oe.Err.Error(), "reset")
}

// readAnswer reads one answer, keeping its body in w.buf when it will be looked at (an error
// answer's first 4 KiB, a successful one when inspected).
func (r *runner) readAnswer(br *bufio.Reader, w *worker) (status int, in int64, closeAfter bool, err error) {
	w.buf.Reset()
	return readResponse(br, r.opts.MaxResponseBytes, func(status int) int64 {
		switch {
		case status < 200 || status > 299:
			return 4096
		case r.inspect != nil:
			return r.opts.MaxResponseBytes
		}
		return 0
	}, &w.buf)
}

// readResponse reads one HTTP/1.1 answer from br: its status, the bytes of its body (at most
// limit: past it, errTooLarge), and whether the connection must close after it. The first
// keep(status) bytes of the body are copied to buf. br holds what the service sent: anything;
// every length is bounded and a malformed answer is an error.
func readResponse(br *bufio.Reader, limit int64, keep func(int) int64, buf *bytes.Buffer) (status int, in int64, closeAfter bool, err error) {
	var length int64
	chunked := false
	for interim := 0; ; interim++ {
		if interim > rawMaxInterims {
			return 0, 0, true, errMalformed
		}
		line, err := readLine(br)
		if err != nil {
			return 0, 0, true, err
		}
		// "HTTP/1.1 200 OK"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
			return 0, 0, true, errMalformed
		}
		status = 0
		for _, c := range line[9:12] {
			if c < '0' || c > '9' {
				return 0, 0, true, errMalformed
			}
			status = status*10 + int(c-'0')
		}
		if status < 100 {
			return 0, 0, true, errMalformed
		}
		closeAfter = line[7] == '0' // an HTTP/1.0 answer: the connection is not reused
		length, chunked = -1, false
		for n := 0; ; n++ {
			if n == rawMaxHeaders {
				return status, 0, true, errTooManyHeader
			}
			h, err := readLine(br)
			if err != nil {
				return status, 0, true, err
			}
			if len(h) == 0 {
				break
			}
			name, value, ok := bytes.Cut(h, []byte{':'})
			if !ok {
				return status, 0, true, errMalformed
			}
			value = bytes.TrimSpace(value)
			switch {
			case asciiEqualFold(name, "content-length"):
				v, err := strconv.ParseInt(string(value), 10, 64)
				if err != nil || v < 0 || length >= 0 && v != length {
					return status, 0, true, errMalformed
				}
				length = v
			case asciiEqualFold(name, "transfer-encoding"):
				if !asciiEqualFold(value, "chunked") {
					return status, 0, true, errMalformed
				}
				chunked = true
			case asciiEqualFold(name, "connection"):
				closeAfter = asciiEqualFold(value, "close")
			}
		}
		if status >= 200 || status == 101 {
			break
		}
	}
	if status == 101 {
		return status, 0, true, errMalformed // no protocol switch in a load test
	}
	keepN := keep(status)
	switch {
	case status == 204 || status == 304:
		return status, 0, closeAfter, nil
	case chunked:
		in, err = readChunked(br, limit, keepN, buf)
	case length >= 0:
		if length > limit {
			return status, 0, true, errTooLarge
		}
		in, err = copyBody(br, length, false, keepN, buf)
	default:
		// The body ends with the connection.
		closeAfter = true
		in, err = copyBody(br, limit+1, true, keepN, buf)
		if errors.Is(err, io.EOF) {
			err = nil
		} else if err == nil {
			return status, limit, true, errTooLarge
		}
	}
	if err != nil {
		return status, in, true, err
	}
	return status, in, closeAfter, nil
}

// readLine reads a line without its CRLF (or LF).
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errHeaderTooLong
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// copyBody reads n bytes of body, or up to the end of the connection when toEOF (then
// returning io.EOF at the end), copying the first keep bytes to buf.
func copyBody(br *bufio.Reader, n int64, toEOF bool, keep int64, buf *bytes.Buffer) (int64, error) {
	var in int64
	for in < n {
		p, err := br.Peek(int(min(n-in, int64(br.Size()))))
		if k := min(keep-int64(buf.Len()), int64(len(p))); k > 0 {
			buf.Write(p[:k])
		}
		d, _ := br.Discard(len(p))
		in += int64(d)
		if err != nil {
			if err == io.EOF && !toEOF {
				err = io.ErrUnexpectedEOF
			}
			return in, err
		}
	}
	return in, nil
}

// readChunked reads a chunked body (and its trailer), at most limit bytes of data.
func readChunked(br *bufio.Reader, limit, keep int64, buf *bytes.Buffer) (int64, error) {
	var in int64
	for chunks := 0; ; chunks++ {
		line, err := readLine(br)
		if err != nil {
			return in, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || len(line) > 16 {
			return in, errMalformed
		}
		size, err := strconv.ParseInt(string(line), 16, 64)
		if err != nil || size < 0 {
			return in, errMalformed
		}
		if size == 0 {
			for n := 0; ; n++ { // the trailer
				if n == rawMaxHeaders {
					return in, errTooManyHeader
				}
				t, err := readLine(br)
				if err != nil {
					return in, err
				}
				if len(t) == 0 {
					return in, nil
				}
			}
		}
		if size > limit-in {
			return in, errTooLarge
		}
		n, err := copyBody(br, size, false, keep, buf)
		in += n
		if err != nil {
			return in, err
		}
		if crlf, err := readLine(br); err != nil || len(crlf) != 0 {
			return in, errMalformed
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// usesRaw reports whether the run's own client serves these targets: no Client given, and
// http URLs (the first target's tells; an https one later fails that request).
func usesRaw(o *Options) bool {
	if o.Client != nil {
		return false
	}
	t := o.Targeter.Target(0)
	if t == nil {
		return false
	}
	u, err := url.Parse(t.URL)
	return err == nil && u.Scheme == "http"
}
