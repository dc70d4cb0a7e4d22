package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// memTransport answers every request from memory, without a network or a server, so that a
// benchmark through it measures the generator alone: scheduling, request building, reading
// the answer, recording.
type memTransport struct{}

type memBody struct{ strings.Reader }

func (*memBody) Close() error { return nil }

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	b := &memBody{}
	b.Reset(`{"scores":[0.5],"is_anomaly":[false],"threshold":0.6}`)
	return &http.Response{StatusCode: 200, Body: b, ContentLength: int64(b.Len()), Request: r, Header: http.Header{}}, nil
}

func benchTargets(b *testing.B, url string) Targets {
	bodies, err := PredictBodies("d", 1, 8, 64, 1)
	if err != nil {
		b.Fatal(err)
	}
	ts, err := NewTargets("POST", url, bodies)
	if err != nil {
		b.Fatal(err)
	}
	return ts
}

func benchRun(b *testing.B, o Options) {
	b.ReportAllocs()
	o.Requests = int64(b.N)
	b.ResetTimer()
	cpu := cpuTime(b)
	res, err := Run(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	// CPU per request, of the whole process: on a busy machine the wall time per request
	// counts the waits for a core, the CPU time does not.
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	if res.Successes != int64(b.N) {
		b.Fatalf("%d of %d succeeded: %v", res.Successes, b.N, res.Errors)
	}
}

// BenchmarkGenerator is the generator's own cost per request: every request answered from
// memory (memTransport), so neither net/http's transport nor a server is counted.
func BenchmarkGenerator(b *testing.B) {
	c := &http.Client{Transport: memTransport{}}
	b.Run("closed", func(b *testing.B) {
		benchRun(b, Options{Targeter: benchTargets(b, "http://mem/p"), Concurrency: 4, Client: c})
	})
	b.Run("open", func(b *testing.B) {
		// Far above what is reached: every request is due at once, claimed by a free slot.
		benchRun(b, Options{Targeter: benchTargets(b, "http://mem/p"), Rate: MaxRate, MaxInFlight: 4, MaxLag: time.Hour, Client: c})
	})
}

// BenchmarkHTTP is a request's whole cost on this machine, generator with net/http's client
// and a trivial httptest handler in the same process, over loopback TCP with keep-alive.
func BenchmarkHTTP(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"scores":[0.5],"is_anomaly":[false],"threshold":0.6}`))
	}))
	defer s.Close()
	b.Run("closed", func(b *testing.B) { benchRun(b, Options{Targeter: benchTargets(b, s.URL), Concurrency: 4}) })
	b.Run("open", func(b *testing.B) {
		benchRun(b, Options{Targeter: benchTargets(b, s.URL), Rate: MaxRate, MaxInFlight: 4, MaxLag: time.Hour})
	})
}

// cpuTime is the process's user + system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cannedServer answers every request on a connection with a fixed answer, parsing only the
// request's Content-Length, allocating nothing per request: a server as cheap as one can be,
// so that a benchmark through it measures mostly the generator's own HTTP client.
func cannedServer(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"scores\":[0.5]}")
	var wg sync.WaitGroup
	b.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					n := 0
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
						if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
							for _, ch := range bytes.TrimSpace(v) {
								n = 10*n + int(ch-'0')
							}
						}
					}
					if _, err := br.Discard(n); err != nil {
						return
					}
					if _, err := c.Write(answer); err != nil {
						return
					}
				}
			})
		}
	})
	return "http://" + l.Addr().String()
}

// BenchmarkRawClient is the generator with its own HTTP/1.1 client against cannedServer: the
// CPU per request is the generator's and the canned server's together, over loopback TCP.
func BenchmarkRawClient(b *testing.B) {
	u := cannedServer(b)
	b.Run("closed", func(b *testing.B) { benchRun(b, Options{Targeter: benchTargets(b, u), Concurrency: 4}) })
	b.Run("open", func(b *testing.B) {
		benchRun(b, Options{Targeter: benchTargets(b, u), Rate: MaxRate, MaxInFlight: 4, MaxLag: time.Hour})
	})
}
