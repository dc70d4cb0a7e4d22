package server

import (
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Methods a client invents share one label: they cannot add series without end.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, m := range []string{"FOOBAR", "BREW", "X-1"} {
		req, _ := http.NewRequest(m, e.http.URL+"/nowhere", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(text), "FOOBAR") || strings.Contains(string(text), "BREW") {
		t.Error("/metrics carries a made-up method as a label")
	}
	if !strings.Contains(string(text), `method="other"`) {
		t.Error(`/metrics lacks method="other"`)
	}
}

// A value JSON cannot hold is a 500 with an error body, never a 200 with an empty one.
func TestWriteJSONRefusesNaN(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusOK, map[string]float64{"x": math.NaN()})
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Errorf("NaN: %d %q", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	writeJSON(w, http.StatusCreated, map[string]string{"a": "<b>"})
	if w.Code != 201 || w.Body.String() != "{\"a\":\"<b>\"}\n" {
		t.Errorf("plain: %d %q", w.Code, w.Body.String())
	}
}

// instanceLabel matches the instance_id label of a sample line with the brace or comma before
// it and the comma after it, if any.
var instanceLabel = regexp.MustCompile(`([{,])` + InstanceLabel + `="[^"]*"(,?)`)

// withoutInstance is an exposition less its instance_id labels (TestEveryMetricNamesItsInstance
// checks them), so that tests can look for a series as it reads without it.
func withoutInstance(text string) string {
	text = instanceLabel.ReplaceAllStringFunc(text, func(m string) string {
		switch {
		case m[0] == '{':
			return "{"
		case strings.HasSuffix(m, ","):
			return ","
		}
		return ""
	})
	return strings.ReplaceAll(text, "{}", "")
}

// Two servers in one place: each one's metrics, every one of them, carry its own name in
// instance_id, and its /healthz names it too; the exposition still passes promtool.
func TestEveryMetricNamesItsInstance(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: scripts/tools.sh installs it (Debian package prometheus)")
	}
	for _, name := range []string{"alpha", "beta:9000"} {
		e := newEnv(t, envOpts{cfg: func(c *Config) { c.Instance = name }})
		id := e.createAndTrain("hbos", nil, rows(200, 3, 1))
		e.predictOK(id, rows(3, 3, 2))
		var health map[string]string
		if st := e.do("GET", "/healthz", nil, &health); st != 200 || health["instance"] != name {
			t.Errorf("%s: /healthz %d %v", name, st, health)
		}
		text := httptestGet(e, "/metrics")
		want := InstanceLabel + `="` + name + `"`
		samples := 0
		for _, line := range strings.Split(text, "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			samples++
			if got := instanceLabel.FindAllString(line, -1); len(got) != 1 || !strings.HasPrefix(got[0][1:], want) {
				t.Errorf("%s: sample without %s (or with another): %s", name, want, line)
			}
		}
		if samples < 50 || !strings.Contains(text, `gonomaly_http_requests_total{code="200",`+want+`,method="POST"`) {
			t.Errorf("%s: %d samples, or no labelled request counter:\n%s", name, samples, grep(text, "http_requests_total"))
		}
		if strings.Contains(text, `instance="`) {
			t.Errorf("%s: a sample carries the label instance, which Prometheus sets at scrape time", name)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: promtool check metrics: %v\n%s", name, err, out)
		}
	}
}

// A server listening on every interface is named by the host's name; one on a given address
// by that address.
func TestDefaultInstance(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	for _, tt := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{Port: 8080}, host + ":8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, host + ":8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, host + ":9000"},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 8080}, "10.0.0.5:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 80}, "[::1]:80"},
		{&net.UnixAddr{Name: "/run/g.sock", Net: "unix"}, "/run/g.sock"},
	} {
		if got := DefaultInstance(tt.addr); got != tt.want {
			t.Errorf("DefaultInstance(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
