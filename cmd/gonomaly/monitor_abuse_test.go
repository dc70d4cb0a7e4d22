package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/monitor"
)

// The monitor's fault suite on the command line: hostile --thresholds files and --alert-webhook
// addresses for serve, and hostile services for performance monitor --url.

// runWithin runs gonomaly with args, cancelled after limit, and fails the test if it has not
// returned a little after that (a command blocked where its context cannot reach).
func runWithin(t *testing.T, limit time.Duration, args ...string) (code int, stdout, stderr string, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var o, e bytes.Buffer
	done := make(chan int, 1)
	start := time.Now()
	go func() { done <- run(ctx, args, &o, &e) }()
	select {
	case code = <-done:
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("gonomaly %q still running %v after its context ended", args, time.Since(start))
	}
	return code, o.String(), e.String(), time.Since(start)
}

// serve refuses at once, as a usage error naming the flag, a --thresholds file it cannot read:
// a FIFO (opening one waits for a writer), a directory, /dev/zero behind a .yaml name, a 100 MB
// file, a missing file, a name without the extension. It never starts serving with them.
func TestMonitorAbuseServeThresholdsFiles(t *testing.T) {
	dir := t.TempDir()
	paths := map[string]string{"missing": filepath.Join(dir, "missing.yaml"), "no extension": "/dev/zero"}
	paths["directory"] = filepath.Join(dir, "d.yaml")
	if err := os.Mkdir(paths["directory"], 0o700); err != nil {
		t.Fatal(err)
	}
	paths["100 MB"] = filepath.Join(dir, "big.yaml")
	if f, err := os.Create(paths["100 MB"]); err != nil {
		t.Fatal(err)
	} else {
		f.WriteString("max_memory_mb: 8192\n# ")
		f.Truncate(100 << 20) // sparse: the rest reads as NUL bytes
		f.Close()
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		paths["/dev/zero"] = filepath.Join(dir, "zero.yaml")
		if err := os.Symlink("/dev/zero", paths["/dev/zero"]); err != nil {
			t.Fatal(err)
		}
	}
	if mkfifo, err := exec.LookPath("mkfifo"); err == nil {
		paths["FIFO"] = filepath.Join(dir, "fifo.yaml")
		if out, err := exec.Command(mkfifo, paths["FIFO"]).CombinedOutput(); err != nil {
			t.Fatalf("mkfifo: %v %s", err, out)
		}
	} else {
		t.Log("no mkfifo: the FIFO case is not tested")
	}
	db := "sqlite:" + filepath.Join(dir, "s.db")
	for name, p := range paths {
		code, _, stderr, took := runWithin(t, 20*time.Second, "serve", "--addr", "127.0.0.1:0", "--database", db, "--thresholds", p)
		if code != 2 || !strings.Contains(stderr, "--thresholds") || took > 10*time.Second { // a FIFO read would wait the whole 20 s
			t.Errorf("%s: exit %d after %v, stderr %.300q; want 2 at once, naming --thresholds", name, code, took, stderr)
		}
		if len(stderr) > 1000 {
			t.Errorf("%s: %d bytes of error", name, len(stderr))
		}
	}
}

// serve refuses an --alert-webhook that is not an http(s) URL with a host, before it starts.
func TestMonitorAbuseServeWebhookFlag(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	for _, u := range []string{"ftp://hooks.example/x", "http://", "hooks.example/x", "http://[::1", "javascript:alert(1)", "http://a b/", strings.Repeat("h", 10000)} {
		code, _, stderr, _ := runWithin(t, 20*time.Second, "serve", "--addr", "127.0.0.1:0", "--database", db, "--alert-webhook", u)
		if code != 2 || !strings.Contains(stderr, "--alert-webhook") || len(stderr) > 1000 {
			t.Errorf("--alert-webhook %.40q: exit %d, stderr %.300q; want 2 naming the flag", u, code, stderr)
		}
	}
}

// performance monitor --url at a service answering an endless body stops at MaxStatusBytes,
// and at one answering 16 MB of empty objects refuses them rather than decoding each into a
// struct (that took 2.4 GB of heap): both fail at once, with a short error and bounded memory.
func TestMonitorAbuseURLHugeAnswers(t *testing.T) {
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"models":[`))
		chunk := bytes.Repeat([]byte(`{},`), 64<<10)
		for sent := 0; sent < 1<<30; sent += len(chunk) { // 1 GB, or until the client goes
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer endless.Close()
	objects := `{"alerts":[` + strings.Repeat(`{},`, (monitor.MaxStatusBytes-20)/3) + `{}]}`
	dense := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(objects))
	}))
	defer dense.Close()
	for _, c := range []struct {
		name, url, want string
	}{
		{"1 GB", endless.URL, "larger than"},
		{"16 MB of {}", dense.URL, "not a monitor status"},
	} {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		code, _, stderr, took := runWithin(t, 60*time.Second, "performance", "monitor", "--status", "--url", c.url)
		runtime.ReadMemStats(&m1)
		allocated := (m1.TotalAlloc - m0.TotalAlloc) >> 20
		if code != 1 || !strings.Contains(stderr, c.want) || len(stderr) > 500 || took > 30*time.Second { // memory is the bound (below); time only catches a hang
			t.Errorf("%s: exit %d after %v, stderr %.300q; want 1 at once saying %q", c.name, code, took, stderr, c.want)
		}
		if allocated > 300 {
			t.Errorf("%s: %d MB allocated", c.name, allocated)
		}
	}
}

// performance monitor --url at a service that trickles its answer a byte at a time, for ever,
// gives up at its 10 s timeout.
func TestMonitorAbuseURLTrickle(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	defer trickle.Close()
	defer close(stop)
	code, _, stderr, took := runWithin(t, 30*time.Second, "performance", "monitor", "--status", "--url", trickle.URL)
	if code != 1 || !strings.Contains(stderr, "Timeout") || took < 9*time.Second || took > 25*time.Second {
		t.Errorf("exit %d after %v, stderr %.300q; want 1 at the 10 s timeout", code, took, stderr)
	}
}
