package testsvc

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// RedisServerPath is where Debian's redis-server lives.
const RedisServerPath = "/usr/bin/redis-server"

// RedisServer is a private redis-server process for tests that stop and restart Redis (an
// outage), which they must not do to the shared one.
type RedisServer struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server on a free port, stopped when the test ends. The test fails
// if redis-server is not installed (scripts/services.sh installs it).
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := os.Stat(RedisServerPath); err != nil {
		t.Fatalf("testsvc: this test needs %s (Debian's redis-server): %v", RedisServerPath, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &RedisServer{t: t, port: port, dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) + "/0" }

// Port is the server's port.
func (s *RedisServer) Port() int { return s.port }

// Start (re)starts the server on its port and waits until it accepts connections.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.cmd = exec.Command(RedisServerPath, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("testsvc: start redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("testsvc: redis-server on port %d does not answer: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *RedisServer) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP) so it accepts connections but never answers, as a hung
// server does.
func (s *RedisServer) Pause() { s.signal(syscall.SIGSTOP) }

// Resume (SIGCONT) undoes Pause.
func (s *RedisServer) Resume() { s.signal(syscall.SIGCONT) }

func (s *RedisServer) signal(sig os.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("testsvc: redis-server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("testsvc: signal redis-server: %v", err)
	}
}
