package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/gonomaly/gonomaly/internal/testsvc"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/postgres"
)

// database makes a new database on the server of base for t, dropped when t ends, and
// returns its URL. DBStats reports a whole database, so a database of its own makes the
// connection counts exact, and the extension tests change nothing others see.
func database(t *testing.T, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "dbstats_" + hex.EncodeToString(b[:])
	admin(t, base, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, base, "DROP DATABASE "+name+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// admin runs statements on a connection of its own to the database of rawURL.
func admin(t *testing.T, rawURL string, sql ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect %s: %v", rawURL, err)
	}
	defer c.Close(ctx)
	for _, q := range sql {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// withSearchPath is rawURL with search_path set to schema (which admin creates first).
func withSearchPath(t *testing.T, rawURL, schema string) string {
	t.Helper()
	admin(t, rawURL, "CREATE SCHEMA IF NOT EXISTS "+schema)
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openURL(t *testing.T, rawURL string, opts store.Options) *postgres.DB {
	t.Helper()
	s, err := postgres.Open(context.Background(), rawURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDBStatsActivity: the connections of the database by state, the oldest transaction, the
// server's max_connections, the pool as it was before DBStats took a connection, the cache
// counters and the size, against connections and data the test makes.
func TestDBStatsActivity(t *testing.T) {
	ctx := context.Background()
	db := database(t, testsvc.PostgresURL(t))
	s := openURL(t, withSearchPath(t, db, "gonomaly"), store.Options{PoolSize: 2, MaxOverflow: 2})

	// One connection idle in a transaction, one running a statement, one pooled connection
	// of the store in use.
	idleTx, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer idleTx.Close(ctx)
	if _, err := idleTx.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := idleTx.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	begun := time.Now()
	busy, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close(ctx)
	sleepCtx, stopSleep := context.WithCancel(ctx)
	slept := make(chan error, 1)
	go func() { _, err := busy.Exec(sleepCtx, "SELECT pg_sleep(60)"); slept <- err }()
	held, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)

	var maxConns int
	if err := idleTx.QueryRow(ctx, "SELECT current_setting('max_connections')::int").Scan(&maxConns); err != nil {
		t.Fatal(err)
	}
	st, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held.Release()
	stopSleep()
	<-slept
	if st.Backend != "postgres" || st.Time.IsZero() {
		t.Errorf("backend %q at %v, want postgres and a time", st.Backend, st.Time)
	}
	if st.Pool.InUse != 1 || st.Pool.MaxConns != 4 {
		t.Errorf("pool %+v, want the 1 held connection of 4 (DBStats reads the pool before it takes one)", st.Pool)
	}
	// The store's connections, the idle transaction and the sleeper, without the one
	// DBStats ran on: an idle one of the pool if there was one, else a new one.
	want := st.Pool.OpenConns + 2
	if st.Pool.Idle > 0 {
		want--
	}
	if st.TotalConnections != want {
		t.Errorf("%d connections to the database, want %d: 2 of the test and those of the store's pool %+v but DBStats' own",
			st.TotalConnections, want, st.Pool)
	}
	if st.ActiveConnections != 1 || st.IdleInTransaction != 1 {
		t.Errorf("%d active and %d idle in transaction, want 1 and 1", st.ActiveConnections, st.IdleInTransaction)
	}
	if age := time.Since(begun); st.OldestTransaction < 250*time.Millisecond || st.OldestTransaction > age+time.Second {
		t.Errorf("oldest transaction %v, want about %v", st.OldestTransaction, age)
	}
	if st.MaxConnections != maxConns {
		t.Errorf("max connections %d, want the server's %d", st.MaxConnections, maxConns)
	}
	if !st.HasCacheHit || st.BlocksHit <= 0 || st.CacheHitRatio <= 0 || st.CacheHitRatio > 1 {
		t.Errorf("cache: known %v, %d hits, %d reads, ratio %v; want hits and a ratio in (0, 1]", st.HasCacheHit, st.BlocksHit, st.BlocksRead, st.CacheHitRatio)
	}
	if want := float64(st.BlocksHit) / float64(st.BlocksHit+st.BlocksRead); st.CacheHitRatio != want {
		t.Errorf("cache hit ratio %v, want hits/(hits+reads) = %v", st.CacheHitRatio, want)
	}

	// The size follows the data: 2 MiB of random bytes (which TOAST cannot compress).
	data := make([]byte, 2<<20)
	_, _ = rand.Read(data)
	if err := s.CreateDataset(ctx, &store.Dataset{Name: "big", NSamples: 1, NFeatures: 1, FileFormat: "csv", Data: data}); err != nil {
		t.Fatal(err)
	}
	grown, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := grown.DatabaseBytes - st.DatabaseBytes; g < int64(len(data)) || g > 4*int64(len(data)) {
		t.Errorf("storing %d bytes grew the database from %d by %d", len(data), st.DatabaseBytes, g)
	}
	// The counters are cumulative: reading the data back shows as more block hits once the
	// backend has reported them (PostgreSQL flushes a backend's statistics within a second
	// or so of a transaction's end).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.ListDatasets(ctx, store.DatasetFilter{}); err != nil {
			t.Fatal(err)
		}
		later, err := s.DBStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if later.BlocksHit > grown.BlocksHit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("block hits stayed at %d for 10 s of reads", later.BlocksHit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDBStatsPoolExhausted: with the pool's one connection held, DBStats fails with
// ErrPoolTimeout, naming the database, and still reports the pool.
func TestDBStatsPoolExhausted(t *testing.T) {
	ctx := context.Background()
	tg := fresh(t)
	s := openURL(t, tg.URL, store.Options{PoolSize: 1, MaxOverflow: -1, AcquireTimeout: 100 * time.Millisecond})
	held, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	st, err := s.DBStats(ctx)
	if !errors.Is(err, store.ErrPoolTimeout) || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("DBStats with the pool exhausted: %v, want ErrPoolTimeout naming the server", err)
	}
	if st.Backend != "postgres" || st.Pool.InUse != 1 || st.Pool.MaxConns != 1 {
		t.Errorf("stats with the error: %+v, want the pool: 1 of 1 in use", st)
	}
}

// TestDBStatsStatementsNote: on the shared test server, which does not preload
// pg_stat_statements (changing that takes a restart), the note says what is missing and how
// to enable it: first without the extension, then with it installed but not loaded.
func TestDBStatsStatementsNote(t *testing.T) {
	ctx := context.Background()
	base := testsvc.PostgresURL(t)
	var preload string
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	err = c.QueryRow(ctx, "SHOW shared_preload_libraries").Scan(&preload)
	c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := database(t, base)
	s := openURL(t, withSearchPath(t, db, "gonomaly"), store.Options{PoolSize: 1})
	name := strings.TrimPrefix(must(url.Parse(db)).Path, "/")

	st, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.SlowStatements != nil {
		t.Errorf("statements without the extension: %v", st.SlowStatements)
	}
	want := []string{"not installed", strconv.Quote(name), "CREATE EXTENSION pg_stat_statements"}
	if !strings.Contains(preload, "pg_stat_statements") {
		want = append(want, "shared_preload_libraries = 'pg_stat_statements'", "restart")
	}
	for _, w := range want {
		if !strings.Contains(st.StatementsNote, w) {
			t.Errorf("note without the extension %q does not say %q", st.StatementsNote, w)
		}
	}

	// Installed in public, which is not on the store's search_path.
	admin(t, db, "CREATE EXTENSION pg_stat_statements SCHEMA public")
	st, err = s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(preload, "pg_stat_statements") {
		if st.StatementsNote != "" {
			t.Errorf("the server preloads pg_stat_statements and the extension is installed, yet: %q", st.StatementsNote)
		}
		return
	}
	for _, w := range []string{"did not load it", strconv.Quote(name), "shared_preload_libraries = 'pg_stat_statements'", "restart"} {
		if !strings.Contains(st.StatementsNote, w) {
			t.Errorf("note with the extension not loaded %q does not say %q", st.StatementsNote, w)
		}
	}
	if st.SlowStatements != nil {
		t.Errorf("statements with the extension not loaded: %v", st.SlowStatements)
	}
}

// TestDBStatsSlowStatements runs a private PostgreSQL server that preloads
// pg_stat_statements (the shared one cannot without a restart) and checks the list: the
// slowest statements of this database by mean time, DBStats' own left out, text on one line
// and cut to StatementMaxBytes; then a role that may not read the view gets a note.
func TestDBStatsSlowStatements(t *testing.T) {
	ctx := context.Background()
	server := startPostgres(t, "shared_preload_libraries=pg_stat_statements")
	db := database(t, server)
	admin(t, db, "CREATE EXTENSION pg_stat_statements SCHEMA public")
	s := openURL(t, withSearchPath(t, db, "gonomaly"), store.Options{PoolSize: 2})

	other := database(t, server) // a statement of another database stays out
	admin(t, other, "SELECT pg_sleep(0.4)")

	long := "SELECT pg_sleep(0.02),\n\t\t" + strings.Repeat("1 +  ", 150) + "1"
	for range 3 {
		admin(t, db, "SELECT pg_sleep(0.25)", long, "SELECT 1")
	}
	if _, err := s.DBStats(ctx); err != nil { // DBStats' own statements, to be left out
		t.Fatal(err)
	}
	st, err := s.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.StatementsNote != "" || len(st.SlowStatements) == 0 || len(st.SlowStatements) > store.SlowStatementsMax {
		t.Fatalf("with pg_stat_statements loaded: note %q, %d statements", st.StatementsNote, len(st.SlowStatements))
	}
	top := st.SlowStatements[0]
	if top.Query != "SELECT pg_sleep($1)" || top.Calls != 3 || top.Mean < 250*time.Millisecond || top.Mean > time.Second ||
		top.Total < 3*top.Mean-time.Millisecond || top.Rows != 3 {
		t.Errorf("slowest statement %+v, want SELECT pg_sleep($1): 3 calls of 250 ms or more, 3 rows", top)
	}
	if !slices.IsSortedFunc(st.SlowStatements, func(a, b store.Statement) int { return -int(a.Mean - b.Mean) }) {
		t.Errorf("statements not slowest first: %+v", st.SlowStatements)
	}
	var cut *store.Statement
	for i, x := range st.SlowStatements {
		if strings.Contains(x.Query, "gonomaly:dbstats") || strings.Contains(x.Query, "pg_sleep($1)") && x.Calls != 3 {
			t.Errorf("statement %d is DBStats' own or another database's: %+v", i, x)
		}
		if strings.HasPrefix(x.Query, "SELECT pg_sleep($1), $2 + $3") {
			cut = &st.SlowStatements[i]
		}
	}
	if cut == nil {
		t.Fatalf("the long statement is missing: %+v", st.SlowStatements)
	}
	if len(cut.Query) > store.StatementMaxBytes || !strings.HasSuffix(cut.Query, "…") || !utf8.ValidString(cut.Query) ||
		strings.ContainsAny(cut.Query, "\n\t") || strings.Contains(cut.Query, "  ") {
		t.Errorf("long statement as %d bytes %q, want one line of at most %d bytes ending in …", len(cut.Query), cut.Query, store.StatementMaxBytes)
	}

	// A role that may not read the view: a note, not an error.
	admin(t, db, "REVOKE SELECT ON public.pg_stat_statements FROM PUBLIC",
		"CREATE ROLE dbstats_reader LOGIN", "GRANT ALL ON SCHEMA gonomaly TO dbstats_reader",
		"GRANT ALL ON ALL TABLES IN SCHEMA gonomaly TO dbstats_reader")
	u := must(url.Parse(withSearchPath(t, db, "gonomaly")))
	u.User = url.User("dbstats_reader")
	reader := openURL(t, u.String(), store.Options{PoolSize: 1})
	st, err = reader.DBStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.SlowStatements != nil || !strings.Contains(st.StatementsNote, `GRANT SELECT ON "public"."pg_stat_statements" TO "dbstats_reader"`) {
		t.Errorf("a role without SELECT on the view: note %q, statements %v", st.StatementsNote, st.SlowStatements)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// startPostgres starts a private PostgreSQL server with the given settings (name=value) on a
// free port, for a test that needs settings only a restart applies, and returns the URL of
// its postgres database; the server stops and its files go when t ends. It runs Debian's
// binaries (/usr/lib/postgresql/<version>/bin, package postgresql, which scripts/services.sh
// installs), as user postgres when the test runs as root (PostgreSQL refuses root).
func startPostgres(t *testing.T, settings ...string) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		t.Fatal("this test needs PostgreSQL's server binaries in /usr/lib/postgresql/<version>/bin (Debian's postgresql package)")
	}
	slices.SortFunc(bins, func(a, b string) int { return version(a) - version(b) })
	bin := filepath.Dir(bins[len(bins)-1])

	dir, err := os.MkdirTemp("", "gonomaly-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, the server needs user postgres: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}
	data := filepath.Join(dir, "data")
	if out, err := command("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	args := []string{"-D", data, "-p", port, "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=30"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	srv := command("postgres", args...)
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	})
	rawURL := "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, rawURL)
		cancel()
		if err == nil {
			c.Close(context.Background())
			return rawURL
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Fatalf("postgres exited (%v):\n%s", waitErr, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres on port %s does not answer after 15 s: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// version is the major version in a path /usr/lib/postgresql/<version>/bin/postgres.
func version(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}
