package monitor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the status as the terminal shows it (`gonomaly performance monitor
// --status`): health, the service's figures, resources, operations with their p99, model
// health, active alerts with their actions, bottlenecks, the database and leaks. source
// names where the figures come from (a service's URL, a store).
func (s Status) WriteText(w io.Writer, source string) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "gonomaly monitor: %s at %s\n", source, s.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	var parts []string
	for _, c := range s.Health.Components {
		p := c.Name + " " + c.Status
		if c.Detail != "" {
			p += " (" + c.Detail + ")"
		}
		parts = append(parts, p)
	}
	fmt.Fprintf(b, "health: %s", strings.ToUpper(orText(s.Health.Status, "unknown")))
	if len(parts) > 0 {
		fmt.Fprintf(b, "  [%s]", strings.Join(parts, ", "))
	}
	b.WriteString("\n")
	if v := s.Service; v.Count > 0 {
		fmt.Fprintf(b, "service: %d requests in %s, %.1f/s, mean %s, p50 %s, p95 %s, p99 %s, max %s, errors %.2f %%\n",
			v.Count, showDur(v.Window), v.PerSecond, showDur(v.Mean), showDur(v.P50), showDur(v.P95), showDur(v.P99), showDur(v.Max), 100*v.ErrorRate)
	} else {
		b.WriteString("service: no requests in the window\n")
	}
	if r := s.Resources; r != nil {
		fmt.Fprintf(b, "resources: cpu %.0f %% of a core, rss %s, heap %s (goal %s), gc %.1f %% of cpu (longest pause %s), %d goroutines, %d open files, load %.2f, memory available %s of %s\n",
			r.CPUPercent, showBytes(r.RSS), showBytes(r.Heap), showBytes(r.HeapGoal), r.GCPercent, showDur(r.GCPauseMax), r.Goroutines, r.OpenFiles, r.Load1, showBytes(r.MemAvailable), showBytes(r.MemTotal))
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	if len(s.Operations) > 0 {
		fmt.Fprintf(b, "\noperations (last %s):\n", showDur(s.Operations[0].Window))
		fmt.Fprintln(tw, "  OPERATION\tCOUNT\tRATE/S\tERRORS\tMEAN\tP50\tP95\tP99\tMAX\tALLOC/OP")
		for _, o := range s.Operations {
			alloc := "-"
			if o.MeanAlloc > 0 {
				alloc = showBytes(o.MeanAlloc)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.2f %%\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Name, o.Count, o.PerSecond, 100*o.ErrorRate,
				showDur(o.Mean), showDur(o.P50), showDur(o.P95), showDur(o.P99), showDur(o.Max), alloc)
		}
		tw.Flush()
	}
	if len(s.Models) > 0 {
		fmt.Fprintf(b, "\nmodels (recent rows against training):\n")
		fmt.Fprintln(tw, "  DETECTOR\tALGORITHM\tROWS\tFLAGGED\tEXPECTED\tRATE p\tSCORE PSI\tSCORE KS p\tMOVED FEATURES (PSI)\tSTATUS")
		for _, h := range s.Models {
			var moved []string
			for _, f := range h.Features {
				moved = append(moved, fmt.Sprintf("#%d %.2f", f.Index, f.PSI))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%.2f %%\t%.2f %%\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Algorithm, h.Rows, 100*h.Rate, 100*h.Expected,
				showP(h.RateP), showNum(h.ScorePSI), showP(h.ScoreKSP), orText(strings.Join(moved, ", "), "-"), h.Status)
		}
		tw.Flush()
	}
	fmt.Fprintf(b, "\nalerts: %d active\n", len(s.Alerts))
	for _, a := range s.Alerts {
		fmt.Fprintf(b, "  %-8s %s (since %s)\n", strings.ToUpper(a.Severity.String()), a.Title, a.StartsAt.UTC().Format("15:04:05"))
		if a.Description != "" {
			fmt.Fprintf(b, "           %s\n", a.Description)
		}
		for _, act := range a.Actions {
			fmt.Fprintf(b, "           - %s\n", act)
		}
	}
	if len(s.Bottlenecks) > 0 {
		fmt.Fprintf(b, "\nbottlenecks:\n")
		for _, bn := range s.Bottlenecks {
			fmt.Fprintf(b, "  %-8s %s in %s: %s\n", strings.ToUpper(bn.Severity.String()), bn.Cause, bn.Op, bn.Evidence)
			if len(bn.Actions) > 0 {
				fmt.Fprintf(b, "           - %s\n", bn.Actions[0])
			}
		}
	}
	var moving []string
	for _, tr := range s.Trends {
		if tr.Worsening {
			moving = append(moving, tr.Recommendation)
		}
	}
	if len(moving) > 0 {
		fmt.Fprintf(b, "\ntrends (the sampler's window):\n")
		for _, m := range moving {
			fmt.Fprintf(b, "  %s\n", m)
		}
	}
	if d := s.Database; d != nil {
		fmt.Fprintf(b, "\ndatabase (%s): pool %d of %d in use, %d idle, %d waits (%s waited)", d.Backend, d.Pool.InUse, d.Pool.MaxConns, d.Pool.Idle, d.Pool.WaitCount, showDur(d.Pool.WaitDuration))
		if d.Backend == "postgres" {
			fmt.Fprintf(b, "; server: %d connections (%d active, %d idle in transaction) of %d", d.TotalConnections, d.ActiveConnections, d.IdleInTransaction, d.MaxConnections)
		}
		if d.HasCacheHit {
			fmt.Fprintf(b, "; cache hit ratio %.2f %%", 100*d.CacheHitRatio)
		}
		fmt.Fprintf(b, "; size %s\n", showBytes(d.DatabaseBytes))
		for i, st := range d.SlowStatements {
			if i == 3 {
				break
			}
			fmt.Fprintf(b, "  slow: %s mean over %d calls: %s\n", showDur(st.Mean), st.Calls, cut(st.Query, 100))
		}
		if d.StatementsNote != "" {
			fmt.Fprintf(b, "  note: %s\n", d.StatementsNote)
		}
	}
	if l := s.Leaks; l != nil && l.Suspected {
		fmt.Fprintf(b, "\nleaks: heap grew %s, goroutines grew %d over %s\n", showBytes(l.HeapGrowth), l.GoroutineGrowth, showDur(l.Window))
		for i, site := range l.Sites {
			if i == 3 {
				break
			}
			fmt.Fprintf(b, "  heap +%s at %s\n", showBytes(site.GrowthBytes), site.Site)
		}
		for i, g := range l.Goroutines {
			if i == 3 {
				break
			}
			fmt.Fprintf(b, "  goroutines +%d at %s\n", g.Growth, g.Site)
		}
	}
	if len(s.Custom) > 0 {
		fmt.Fprintf(b, "\ncustom metrics:\n")
		for _, name := range sortedKeys(s.Custom) {
			fmt.Fprintf(b, "  %s %g\n", name, s.Custom[name])
		}
	}
	_, err := io.WriteString(w, strings.Map(printable, b.String()))
	return err
}

// printable keeps the text's newlines and tabs and replaces any other control character with
// U+FFFD: the figures may come from another service (FetchStatus), and an escape sequence in a
// title or a name would reach the terminal.
func printable(r rune) rune {
	if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
		return '\uFFFD'
	}
	return r
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// showDur shows a duration with three significant digits.
func showDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3gs", d.Seconds())
	}
}

func showBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

func showNum(x float64) string {
	if x != x {
		return "-"
	}
	return fmt.Sprintf("%.3f", x)
}

func showP(p float64) string {
	if p != p {
		return "-"
	}
	return fmt.Sprintf("%.2g", p)
}
