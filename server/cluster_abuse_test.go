package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/cluster/clustertest"
)

// clusterEnv is a service over a cluster of its own on the test NATS server (deleted when
// the test ends), with API key "k". The service has a connection of its own, which the test
// may close without keeping the cluster from being deleted.
func clusterEnv(t *testing.T) (*env, *cluster.Conn) {
	t.Helper()
	owner, url := clustertest.New(t, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := cluster.Connect(ctx, url, cluster.Options{Name: owner.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return newEnv(t, envOpts{key: "k", cfg: func(c *Config) { c.Cluster = conn }}), conn
}

// clusterGet sends method to /api/v1/cluster with query, with the key when key is set, and
// returns the status, the Allow header and the body.
func clusterGet(t *testing.T, e *env, method, query string, key bool) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.http.URL+"/api/v1/cluster"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s /api/v1/cluster: %v", method, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, body
}

// The cluster's endpoint takes what any API route takes: no key is 401 before NATS is asked,
// a query string of a megabyte changes nothing, HEAD answers like GET without a body, any
// other method is 405 with Allow, and many requests at once all answer.
func TestClusterAbuseRequests(t *testing.T) {
	e, conn := clusterEnv(t)

	code, _, body := clusterGet(t, e, "GET", "", false)
	var eb errorBody
	if err := json.Unmarshal(body, &eb); code != http.StatusUnauthorized || err != nil || eb.Code != CodeUnauthorized {
		t.Errorf("without a key: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/cluster", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with a wrong key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	for name, q := range map[string]string{
		"one value of 1 MB":       "?x=" + strings.Repeat("a", 1_000_000),
		"250,000 parameters":      "?" + strings.Repeat("a=1&", 250_000),
		"cluster name and worker": "?name=other&worker=x",
	} {
		code, _, body := clusterGet(t, e, "GET", q, true)
		var st cluster.Status
		if err := json.Unmarshal(body, &st); code != http.StatusOK || err != nil || st.Name != conn.Name() || st.Workers == nil {
			t.Errorf("%s: %d %.300s", name, code, body)
		}
	}

	if code, _, body := clusterGet(t, e, "HEAD", "", true); code != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes of body, want 200 without one", code, len(body))
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		code, h, body := clusterGet(t, e, m, "", true)
		var eb errorBody
		if err := json.Unmarshal(body, &eb); code != http.StatusMethodNotAllowed || err != nil || eb.Code != CodeMethodNotAllowed || h.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow %q %s, want 405 Allow GET, HEAD", m, code, h.Get("Allow"), body)
		}
	}

	// Each request watches the workers' bucket: many at once all answer, and leave nothing
	// behind that makes the next one fail.
	var wg sync.WaitGroup
	codes := make([]int, 32)
	for i := range codes {
		wg.Go(func() { codes[i], _, _ = clusterGet(t, e, "GET", "", true) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d of %d at once: %d", i+1, len(codes), c)
		}
	}
	if code, _, _ := clusterGet(t, e, "GET", "", true); code != http.StatusOK {
		t.Errorf("after the burst: %d", code)
	}
}

// With its NATS connection closed, the service answers 503 with its own fixed message, at
// once: no NATS text reaches the client.
func TestClusterAbuseNATSClosed(t *testing.T) {
	e, conn := clusterEnv(t)
	if code, _, body := clusterGet(t, e, "GET", "", true); code != http.StatusOK {
		t.Fatalf("before closing: %d %s", code, body)
	}
	conn.Close() // drains, then closes: requests may still pass while it drains
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _, _ := clusterGet(t, e, "GET", "", true); code != http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still 200 10 s after the NATS connection was closed")
		}
	}
	for range 3 { // and again: nothing is stuck after the first failure
		start := time.Now()
		code, _, body := clusterGet(t, e, "GET", "", true)
		took := time.Since(start)
		var eb errorBody
		if err := json.Unmarshal(body, &eb); code != http.StatusServiceUnavailable || err != nil || eb.Code != CodeUnavailable ||
			eb.Error != "the cluster's NATS server did not answer" {
			t.Fatalf("NATS closed: %d %s", code, body)
		}
		low := strings.ToLower(string(body))
		for _, leak := range []string{"nats:", "connection", "closed", "jetstream", "cluster t", conn.Name()} {
			if strings.Contains(low, strings.ToLower(leak)) {
				t.Errorf("the answer shows %q: %s", leak, body)
			}
		}
		if took > 10*time.Second { // the handler gives NATS 5 s; a closed connection fails at once
			t.Errorf("the 503 took %v", took)
		}
	}
	// The rest of the service does not care.
	if code := e.do("GET", "/api/v1/detectors", nil, nil); code != http.StatusOK {
		t.Errorf("GET /api/v1/detectors with NATS closed: %d", code)
	}
}

// stallProxy forwards TCP connections to target until stall; from then on it holds every
// byte in both directions, like a NATS server that hangs without closing its connections.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, done: make(chan struct{})}
	p.wg.Go(p.accept)
	return p
}

func (p *stallProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(u, c) })
		p.wg.Go(func() { p.pipe(c, u) })
	}
}

func (p *stallProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.stalled.Load() {
			select {
			case <-p.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = dst.Close()
			return
		}
	}
}

// close ends every connection and waits for the proxy's goroutines.
func (p *stallProxy) close() {
	close(p.done)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// When NATS stops answering without closing the connection, the service answers 503 with its
// fixed message once its 5 s for NATS are up, not after the request timeout; it answers again
// once NATS does.
func TestClusterAbuseNATSHangs(t *testing.T) {
	owner, natsURL := clustertest.New(t, cluster.Options{})
	u, err := url.Parse(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, u.Host)
	defer proxy.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := cluster.Connect(ctx, "nats://"+proxy.ln.Addr().String(), cluster.Options{Name: owner.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { // drain and close the connection while the proxy flows, before it closes
		proxy.stalled.Store(false)
		conn.Close()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := conn.Status(context.Background()); err != nil && strings.Contains(err.Error(), "closed") {
				return
			}
		}
		t.Error("the NATS connection did not close within 10 s")
	}()
	e := newEnv(t, envOpts{key: "k", cfg: func(c *Config) { c.Cluster = conn }})
	if code, _, body := clusterGet(t, e, "GET", "", true); code != http.StatusOK {
		t.Fatalf("before the stall: %d %s", code, body)
	}

	proxy.stalled.Store(true)
	start := time.Now()
	code, _, body := clusterGet(t, e, "GET", "", true)
	took := time.Since(start)
	var eb errorBody
	if err := json.Unmarshal(body, &eb); code != http.StatusServiceUnavailable || err != nil || eb.Code != CodeUnavailable ||
		eb.Error != "the cluster's NATS server did not answer" {
		t.Fatalf("NATS stalled: %d %s after %v", code, body, took)
	}
	if strings.Contains(strings.ToLower(string(body)), "context") || strings.Contains(strings.ToLower(string(body)), "deadline") {
		t.Errorf("the answer shows the cause: %s", body)
	}
	if took > 20*time.Second { // the handler gives NATS 5 s; this only catches a hang
		t.Errorf("the 503 took %v", took)
	}

	proxy.stalled.Store(false)
	if code, _, body := clusterGet(t, e, "GET", "", true); code != http.StatusOK {
		t.Errorf("after the stall: %d %s", code, body)
	}
}
