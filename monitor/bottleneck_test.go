package monitor

import (
	"strings"
	"testing"
	"time"
)

func TestDiagnose(t *testing.T) {
	tests := []struct {
		name  string
		f     Figures
		first string // the most severe cause, "" for none
		sev   Severity
		all   []string
	}{
		{"healthy", Figures{Op: "predict", Duration: 5 * time.Millisecond, Budget: 10 * time.Millisecond, CPUPercent: 40, Cores: 2, GCPercent: 3, CacheHits: 99, CacheLookups: 100, PoolInUse: 1, PoolMax: 10}, "", 0, nil},
		{"unknown figures", Figures{Op: "predict"}, "", 0, nil},
		// The seed's example: 45 s and 150 MB of growth.
		{"seed example", Figures{Op: "detect", Duration: 45 * time.Second, AllocBytes: 150e6}, "memory", SeverityMedium, []string{"memory"}},
		{"huge allocation", Figures{Op: "detect", AllocBytes: 500e6}, "memory", SeverityCritical, []string{"memory"}},
		{"cpu bound and slow", Figures{Op: "predict", Duration: 30 * time.Millisecond, Budget: 10 * time.Millisecond, CPUPercent: 195, Cores: 2}, "cpu", SeverityHigh, []string{"cpu"}},
		{"cpu bound in budget", Figures{Op: "predict", CPUPercent: 380, Cores: 4}, "cpu", SeverityMedium, []string{"cpu"}},
		{"gc", Figures{Op: "predict", CPUPercent: 60, Cores: 2, GCPercent: 60}, "gc", SeverityHigh, []string{"gc"}},
		{"pool waits", Figures{Op: "predict", PoolInUse: 10, PoolMax: 10, PoolWaitsPerSecond: 3}, "database_pool", SeverityMedium, []string{"database_pool"}},
		{"waiting on io", Figures{Op: "train", Duration: 5 * time.Second, Budget: time.Second, CPUPercent: 20, Cores: 2}, "waiting", SeverityCritical, []string{"waiting"}},
		{"cold cache", Figures{Op: "predict", CacheHits: 10, CacheLookups: 100}, "cache", SeverityLow, []string{"cache"}},
		{"failing", Figures{Op: "predict", ErrorRate: 0.5}, "errors", SeverityCritical, []string{"errors"}},
		{"several", Figures{Op: "predict", Duration: time.Second, Budget: 100 * time.Millisecond, CPUPercent: 190, Cores: 2, GCPercent: 30, ErrorRate: 0.06}, "cpu", SeverityHigh, []string{"cpu", "gc", "errors"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diagnose(tt.f)
			if tt.first == "" {
				if len(got) != 0 {
					t.Fatalf("found %+v, want nothing", got)
				}
				return
			}
			if len(got) == 0 || got[0].Cause != tt.first || got[0].Severity != tt.sev {
				t.Fatalf("got %+v, want %s (%s) first", got, tt.first, tt.sev)
			}
			var causes []string
			for _, b := range got {
				causes = append(causes, b.Cause)
				if len(b.Actions) == 0 || b.Evidence == "" || b.Op != tt.f.Op {
					t.Errorf("%s: no actions, evidence or operation: %+v", b.Cause, b)
				}
			}
			for _, c := range tt.all {
				if !strings.Contains(strings.Join(causes, " "), c) {
					t.Errorf("causes %v miss %s", causes, c)
				}
			}
			if len(causes) != len(tt.all) {
				t.Errorf("causes %v, want %v", causes, tt.all)
			}
		})
	}
}

func TestBottleneckConditions(t *testing.T) {
	now := time.Now()
	conds := BottleneckConditions(now, "predict", Diagnose(Figures{Op: "predict", GCPercent: 60}))
	firing := 0
	for _, c := range conds {
		if c.Firing {
			firing++
			if c.Key != "bottleneck/gc/predict" || c.Severity != SeverityHigh || len(c.Actions) == 0 || !strings.Contains(c.Description, "60 %") {
				t.Errorf("firing condition %+v", c)
			}
		}
	}
	if firing != 1 || len(conds) != 7 {
		t.Errorf("%d of %d conditions fire, want 1 of 7", firing, len(conds))
	}
}
