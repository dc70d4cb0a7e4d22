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
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	keepAll := func(int) int64 { return 1 << 20 }
	for _, tt := range []struct {
		in         string
		status     int
		body       string
		closeAfter bool
		err        error
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", false, nil},
		{"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nConnection: close\r\n\r\nhello", 200, "hello", true, nil},
		{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}", 503, "{}", false, nil},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: 1\r\n\r\n", 200, "abcde", false, nil},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", false, nil},
		{"HTTP/1.0 200 OK\r\n\r\nto the end", 200, "to the end", true, nil},
		{"HTTP/1.1 204 No Content\r\n\r\n", 204, "", false, nil},
		{"HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 200, "x", false, nil},
		{"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 200, "", true, errTooLarge},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 200, "hel", true, io.ErrUnexpectedEOF},
		{"HTTP/1.1 200 OK\r\n\r\n01234567890", 200, "0123456789", true, errTooLarge},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n", 200, "", true, errTooLarge},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, "", true, errMalformed},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 200, "", true, errMalformed},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 200, "", true, errMalformed},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 200, "", true, errMalformed},
		{"HTTP/1.1 2x0 OK\r\n\r\n", 0, "", true, errMalformed},
		{"SMTP ready\r\n", 0, "", true, errMalformed},
		{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 200, "", true, errMalformed},
		{"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", rawBufSize) + "\r\n\r\n", 200, "", true, errHeaderTooLong},
		{"HTTP/1.1 200 OK\r\n" + strings.Repeat("X: 1\r\n", rawMaxHeaders+1) + "\r\n", 200, "", true, errTooManyHeader},
		{"HTTP/1.1 101 Switching\r\n\r\n", 101, "", true, errMalformed},
		{"", 0, "", true, io.EOF},
		{"HTTP/1.1 200", 0, "", true, io.ErrUnexpectedEOF},
	} {
		var buf bytes.Buffer
		status, in, closeAfter, err := readResponse(bufio.NewReaderSize(strings.NewReader(tt.in), rawBufSize), 10, keepAll, &buf)
		if status != tt.status || !errors.Is(err, tt.err) || (err == nil && (closeAfter != tt.closeAfter || buf.String() != tt.body || in != int64(len(tt.body)))) {
			t.Errorf("%.60q: status %d body %q in %d close %v err %v; want %d %q %v %v", tt.in, status, buf.String(), in, closeAfter, err,
				tt.status, tt.body, tt.closeAfter, tt.err)
		}
	}
}

// FuzzReadResponse: any bytes from a service give an answer within the bounds or an error,
// never a panic, never more body than the limit.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.0 404 x\r\n\r\nbody",
		"HTTP/1.1 100 C\r\n\r\nHTTP/1.1 100 C\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		status, n, _, err := readResponse(bufio.NewReaderSize(bytes.NewReader(in), rawBufSize), 1000, func(int) int64 { return 100 }, &buf)
		if n > 1001 || buf.Len() > 100 || n < 0 {
			t.Fatalf("status %d, %d bytes, kept %d, %v", status, n, buf.Len(), err)
		}
		if err == nil && (status < 100 || status > 999) {
			t.Fatalf("status %d", status)
		}
	})
}

// rawServer is a TCP server answering each request with answer (read the request first).
func rawServer(t *testing.T, answer func(n int64) string, closeAfter bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	var n atomic.Int64
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, answer(n.Add(1))); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

func TestRawClientAnswers(t *testing.T) {
	checkLeaks(t)
	for _, tt := range []struct {
		name       string
		answer     func(int64) string
		closeAfter bool
		ok         int64
		errs       string
	}{
		{"chunked", func(int64) string {
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
		}, false, 20, "[]"},
		{"connection close", func(int64) string { return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}" }, true, 20, "[]"},
		{"to the end", func(int64) string { return "HTTP/1.0 200 OK\r\n\r\n{}" }, true, 20, "[]"},
		// The service closes every connection after its answer without saying so: the next
		// request on it finds it closed and goes again on a new one.
		{"closed silently", func(int64) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" }, true, 20, "[]"},
		{"malformed", func(n int64) string {
			if n%2 == 0 {
				return "garbage\r\n\r\n"
			}
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
		}, false, 10, "[{malformed answer 10}]"},
	} {
		u := rawServer(t, tt.answer, tt.closeAfter)
		res := mustRun(t, Options{Targeter: targets(t, u, 2), Concurrency: 1, Requests: 20})
		if res.Successes != tt.ok || fmt.Sprint(res.Errors) != tt.errs {
			t.Errorf("%s: %d successes, errors %v; want %d, %s", tt.name, res.Successes, res.Errors, tt.ok, tt.errs)
		}
	}
}

// The same behaviour through net/http's client (Options.Client), which https targets use.
func TestNetHTTPClient(t *testing.T) {
	checkLeaks(t)
	var n atomic.Int64
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"busy","code":"unavailable"}`))
			return
		}
		ok(w, r)
	})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	res := mustRun(t, Options{Targeter: targets(t, s.URL, 2), Concurrency: 2, Requests: 40, Client: c})
	if res.Successes != 20 || fmt.Sprint(res.Errors) != "[{HTTP 503 unavailable 20}]" || res.StatusCodes["503"] != 20 {
		t.Errorf("successes %d errors %v status %v", res.Successes, res.Errors, res.StatusCodes)
	}
	res = mustRun(t, Options{Targeter: targets(t, s.URL, 2), Rate: 200, Duration: 200 * time.Millisecond, Client: c})
	if res.Requests != 40 {
		t.Errorf("open model through net/http: %d requests", res.Requests)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{Targeter: targets(t, s.URL, 2), Concurrency: 2, Requests: 40, Client: c}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	tg := Targets{{Method: "POST", URL: "http://127.0.0.1:1/"}}
	for _, h := range []http.Header{{"Authorization": {"Bearer k\r\nX-Evil: 1"}}, {"Bad Name": {"v"}}} {
		if _, err := Run(context.Background(), Options{Targeter: tg, Concurrency: 1, Requests: 1, Header: h}); !errors.Is(err, ErrOptions) {
			t.Errorf("%v: %v, want ErrOptions", h, err)
		}
	}
}

func TestRawClientSendsHeaders(t *testing.T) {
	checkLeaks(t)
	var got atomic.Value
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(fmt.Sprintf("%s %s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b))
		ok(w, r)
	})
	ts, err := NewTargets("PUT", s.URL+"/a/b?x=1", [][]byte{[]byte(`{"k":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, Options{Targeter: ts, Concurrency: 1, Requests: 1, Header: http.Header{"Authorization": {"Bearer s3cret"}}})
	if want := `PUT /a/b?x=1 Bearer s3cret application/json {"k":1}`; got.Load() != want {
		t.Errorf("the service got %q, want %q", got.Load(), want)
	}
}
