package monitor

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzFetchStatus points FetchStatus at a service answering arbitrary bytes with an arbitrary
// status: it returns an error quoting at most 200 bytes of the answer, or a Status that
// WriteText prints (what `gonomaly performance monitor` does with it), neither passing on a
// control character of the service's, and it never panics.
func FuzzFetchStatus(f *testing.F) {
	f.Add(uint16(200), []byte(`{"time":"2024-01-01T00:00:00Z","operations":[{"name":"GET /x","count":1}]}`))
	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		w.Write(b)
	}))
	f.Cleanup(srv.Close)
	client := &http.Client{Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, code uint16, answer []byte) {
		mu.Lock()
		status, body = int(code), answer
		if status < 200 || status > 599 { // WriteHeader refuses codes past 999, and a 1xx is not final
			status = 200 + status%400
		}
		mu.Unlock()
		s, err := FetchStatus(context.Background(), client, srv.URL, "key")
		if err != nil {
			if msg := err.Error(); len(msg) > len(srv.URL)+200+300 {
				t.Fatalf("error of %d bytes quotes more than 200 bytes of the answer: %.300q...", len(msg), msg)
			}
			if msg := err.Error(); strings.IndexFunc(msg, isTerminalControl) >= 0 {
				t.Fatalf("the error holds a control character of the answer: %q", msg)
			}
			return
		}
		if status != http.StatusOK {
			t.Fatalf("status %d answered a Status", status)
		}
		var out strings.Builder
		if err := s.WriteText(&out, srv.URL); err != nil {
			t.Fatal(err)
		}
		// A service's text reaches the terminal: no escape sequence or other control character
		// of its own goes through.
		if i := strings.IndexFunc(out.String(), isTerminalControl); i >= 0 {
			t.Fatalf("the text holds control character %q: %.200q", out.String()[i], out.String()[max(0, i-50):])
		}
	})
}

// isTerminalControl reports the characters a terminal acts on, but for newline and tab.
func isTerminalControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0)
}

// A status line is the service's text too: its reason phrase reaches the error cut short and
// without control characters.
func TestFetchStatusHostileStatusLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf) // the request
				io.WriteString(c, "HTTP/1.1 503 \x1b]0;pwned\x07"+strings.Repeat("x", 100000)+"\r\nContent-Length: 2\r\n\r\nno")
			}()
		}
	}()
	_, err = FetchStatus(context.Background(), &http.Client{Timeout: 5 * time.Second}, "http://"+l.Addr().String(), "")
	if err == nil {
		t.Fatal("a 503 answered a status")
	}
	if msg := err.Error(); len(msg) > 500 || strings.IndexFunc(msg, isTerminalControl) >= 0 {
		t.Errorf("error of %d bytes: %.300q", len(msg), msg)
	}
}
