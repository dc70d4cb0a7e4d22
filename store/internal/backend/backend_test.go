package backend

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	prev := ""
	seen := map[string]bool{}
	for i := range 1000 {
		id := NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID() = %q, not a UUID version 7", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %s", id)
		}
		seen[id] = true
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		// The leading 48 bits are the time in milliseconds: ids of later milliseconds sort later.
		if prev != "" && id[:13] < prev[:13] {
			t.Fatalf("NewID went back in time: %s after %s", id, prev)
		}
		prev = id
	}
}

func TestScoresRoundTrip(t *testing.T) {
	for _, s := range [][]float64{nil, {0}, {1.5, -2.25, math.Inf(1), math.SmallestNonzeroFloat64, math.MaxFloat64}} {
		got, err := DecodeScores(EncodeScores(s))
		if err != nil || !slices.Equal(got, s) {
			t.Errorf("scores %v came back as %v, %v", s, got, err)
		}
	}
	nan, _ := DecodeScores(EncodeScores([]float64{math.NaN()}))
	if !math.IsNaN(nan[0]) {
		t.Errorf("NaN came back as %v", nan[0])
	}
	if _, err := DecodeScores(make([]byte, 12)); err == nil {
		t.Error("DecodeScores of 12 bytes succeeded")
	}
}

func TestLabels(t *testing.T) {
	a := EncodeLabels(map[string]string{"route": "/p", "method": "POST", "a": `"q"`})
	b := EncodeLabels(map[string]string{"a": `"q"`, "method": "POST", "route": "/p"})
	if a != b || a != `{"a":"\"q\"","method":"POST","route":"/p"}` {
		t.Errorf("labels encode as %s and %s", a, b)
	}
	if EncodeLabels(nil) != "{}" || EncodeLabels(map[string]string{}) != "{}" {
		t.Error("no labels do not encode as {}")
	}
	l, err := DecodeLabels(a)
	if err != nil || len(l) != 3 || l["a"] != `"q"` {
		t.Errorf("DecodeLabels = %v, %v", l, err)
	}
	if l, _ := DecodeLabels("{}"); l != nil {
		t.Errorf("DecodeLabels({}) = %v, want nil", l)
	}
}

func TestTimes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("x", -3600))
	got := Time(at)
	if got.Nanosecond() != 678901000 || got.Location() != time.UTC || !got.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("Time(%v) = %v", at, got)
	}
	if back := FromMicros(Micros(got)); !back.Equal(got) || back.Location() != time.UTC {
		t.Errorf("micros round trip: %v", back)
	}
	if d := 1234567891 * time.Nanosecond; FromSeconds(Seconds(d)) != d {
		t.Errorf("seconds round trip of %v: %v", d, FromSeconds(Seconds(d)))
	}
}

func TestQuery(t *testing.T) {
	var q Query
	if q.Clause() != "" {
		t.Errorf("empty Clause() = %q", q.Clause())
	}
	q.Where("a = ?", 1)
	q.Where("b BETWEEN ? AND ?", 2, 3)
	q.Where("c IS NULL")
	page := q.Page(0, -5)
	if got := q.Clause() + page; got != " WHERE a = $1 AND b BETWEEN $2 AND $3 AND c IS NULL LIMIT $4 OFFSET $5" {
		t.Errorf("query %q", got)
	}
	if !slices.Equal(q.Args, []any{1, 2, 3, 1000, 0}) {
		t.Errorf("args %v", q.Args)
	}
}

func TestMigrations(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
		"m/README":        {Data: []byte("ignored")},
	}
	ms, err := Migrations(good, "m")
	if err != nil || len(ms) != 2 || ms[0].Name != "init" || ms[1].SQL != "B" {
		t.Fatalf("Migrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"repeat":  {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"no name": {"m/0001.sql": {}},
		"zero":    {"m/0000_a.sql": {}},
	} {
		if _, err := Migrations(fsys, "m"); err == nil {
			t.Errorf("%s: Migrations accepted %v", name, fsys)
		}
	}
	if p, _ := Pending(ms, 1); len(p) != 1 || p[0].Version != 2 {
		t.Errorf("Pending(at 1) = %+v", p)
	}
	if p, _ := Pending(ms, 2); len(p) != 0 {
		t.Errorf("Pending(at 2) = %+v", p)
	}
	if _, err := Pending(ms, 3); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Pending(at 3) = %v, want an error: the database is newer", err)
	}
}

func TestValidID(t *testing.T) {
	for i := range 100 {
		if id := NewID(); !ValidID(id) {
			t.Fatalf("NewID() %d = %q is not ValidID", i, id)
		}
	}
	for _, id := range []string{
		"01900000-0000-4000-8000-00000000beef", // a version 4 UUID: any version is an id
		"00000000-0000-0000-0000-000000000000",
	} {
		if !ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	}
	for _, id := range []string{
		"", "x", "01900000-0000-7000-8000-00000000BEEF", "01900000-0000-7000-8000-00000000beef ",
		"{01900000-0000-7000-8000-00000000beef}", "0190000000007000800000000000beef0000",
		"01900000_0000_7000_8000_00000000beef", "01900000-0000-7000-8000-00000000bee\x00",
		"01900000-0000-7000-8000-00000000beeg", strings.Repeat("a", 10<<10),
	} {
		if ValidID(id) {
			t.Errorf("ValidID(%.50q) = true", id)
		}
	}
}

func TestShowID(t *testing.T) {
	id := NewID()
	for _, c := range []struct{ id, want string }{
		{id, id},
		{"", ""},
		{"a\x00b", `"a\x00b"`},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", 40) + `"...`},
	} {
		if got := ShowID(c.id); got != c.want {
			t.Errorf("ShowID(%.50q) = %q, want %q", c.id, got, c.want)
		}
	}
}

func TestBadText(t *testing.T) {
	for _, c := range []struct {
		s    string
		max  int
		want string
	}{
		{"ok ✓", 10, ""},
		{"", 10, ""},
		{"a\x00", 10, "contains a NUL byte"},
		{"caf\xe9", 10, "is not valid UTF-8"},
		{"12345678901", 10, "is 11 bytes long, more than 10"},
		{strings.Repeat("x", 1<<20), 0, ""},
	} {
		if got := badText(c.s, c.max); got != c.want {
			t.Errorf("badText(%.20q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
	}
}
