// Package testsvc gives tests the addresses of the real services they talk to: PostgreSQL,
// Redis and NATS. Each address comes from an environment variable (GONOMALY_TEST_POSTGRES,
// GONOMALY_TEST_REDIS, GONOMALY_TEST_NATS), as a URL or a bare host:port, with the local
// default of a developer or CI machine. A service that does not answer fails the test, never
// skips it: scripts/services.sh starts them.
package testsvc

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// The environment variables and their defaults.
const (
	EnvPostgres = "GONOMALY_TEST_POSTGRES"
	EnvRedis    = "GONOMALY_TEST_REDIS"
	EnvNATS     = "GONOMALY_TEST_NATS"

	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedis    = "redis://127.0.0.1:6379/0"
	DefaultNATS     = "nats://127.0.0.1:4222"
)

// PostgresURL is the PostgreSQL connection URL for tests.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return reachable(t, EnvPostgres, DefaultPostgres, "postgres://postgres@", "/test?sslmode=disable")
}

// RedisURL is the Redis URL for tests.
func RedisURL(t testing.TB) string {
	t.Helper()
	return reachable(t, EnvRedis, DefaultRedis, "redis://", "/0")
}

// NATSURL is the NATS URL for tests.
func NATSURL(t testing.TB) string {
	t.Helper()
	return reachable(t, EnvNATS, DefaultNATS, "nats://", "")
}

// reachable reads env (or def), turns a bare host:port into a URL with prefix and suffix, and
// fails t unless something accepts a TCP connection there.
func reachable(t testing.TB, env, def, prefix, suffix string) string {
	t.Helper()
	raw := strings.TrimSpace(os.Getenv(env))
	if raw == "" {
		raw = def
	}
	if !strings.Contains(raw, "://") {
		raw = prefix + raw + suffix
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("testsvc: %s=%q is not a URL or host:port", env, raw)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("testsvc: the service at %s (%s) does not answer: %v; start it with scripts/services.sh", u.Host, env, err)
	}
	conn.Close()
	return raw
}
