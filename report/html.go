package report

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// WriteHTML renders the report as one self-contained HTML page: styles inline, charts as
// inline SVG, no script and no request to another host. The page is also well-formed XML.
func WriteHTML(w io.Writer, r *Report) error {
	funcs := template.FuncMap{
		"seriesChart": func(i int, s Series) template.HTML {
			return seriesChart(fmt.Sprintf("series-%d", i), s, r.Alerts.Items, r.Period)
		},
		"benchChart": func(i int, b Benchmark) template.HTML {
			var bars []bar
			for _, c := range b.Cells {
				if c.Seconds > 0 {
					bars = append(bars, bar{label: fmt.Sprintf("%s %d", abbrev(c.Algorithm), c.Rows), v: c.Seconds, lo: c.CILow, hi: c.CIHigh,
						errorBarsKnown: true, title: fmt.Sprintf("%s: median %s s, 95%% CI [%s, %s]", c.ID, num(c.Seconds), num(c.CILow), num(c.CIHigh))})
				}
			}
			return barChart(fmt.Sprintf("benchmark-%d", i), b.Name, "seconds", bars)
		},
		"compareChart": func(i int, c Comparison) template.HTML {
			var bars []bar
			for _, a := range c.Algorithms {
				if a.Seconds > 0 {
					bars = append(bars, bar{label: abbrev(a.Algorithm), v: a.Seconds, lo: a.CILow, hi: a.CIHigh, errorBarsKnown: true, emphasise: a.Pareto,
						title: fmt.Sprintf("%s: median %s s, 95%% CI [%s, %s]", a.Algorithm, num(a.Seconds), num(a.CILow), num(a.CIHigh))})
				}
			}
			return barChart(fmt.Sprintf("compare-%d", i), c.Dataset, "seconds", bars)
		},
		"latencyChart": func(ops []Operation) template.HTML {
			return percentileChart("latency", "Latency percentiles of the main operations (median minute)", opLines(ops))
		},
		"loadCurveChart": func(lt *LoadTest) template.HTML {
			return percentileChart("loadtest-curve", "Latency percentiles of "+lt.SuiteID, []pctLine{loadLine(lt)})
		},
		"loadHistChart": func(lt *LoadTest) template.HTML {
			return barChart("loadtest-histogram", "Latency histogram of "+lt.SuiteID, "requests", loadBars(lt))
		},
		"newestCurve":   newestCurve,
		"tuneFigures":   tuneFigures,
		"maxSearches":   func() int { return MaxSearches },
		"maxTuneRuns":   func() int { return MaxTuneRuns },
		"curveChart":    func(i int, c Curve) template.HTML { return curveChart(fmt.Sprintf("scalability-%d", i), c) },
		"memoryChart":   func(i int, m MemoryTest) template.HTML { return memoryChart(fmt.Sprintf("memory-%d", i), m) },
		"cdChart":       func(x *CrossDataset) template.HTML { return cdChart("datasets", x) },
		"latencyCurves": latencyCurves,
		"pctl": func(o Operation, pc float64) string {
			for _, l := range o.Latency {
				if l.Percentile == pc {
					return fmt.Sprintf("%.3g ms", 1e3*l.Seconds)
				}
			}
			return "-"
		},
		"num":  num,
		"x10":  func(n int) int { return 10 * n },
		"pct":  func(v float64) string { return fmt.Sprintf("%.2f %%", 100*v) },
		"ms":   func(v float64) string { return fmt.Sprintf("%.3g ms", 1e3*v) },
		"us":   micros,
		"mb":   func(v int64) string { return fmt.Sprintf("%.1f MB", float64(v)/1e6) },
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
		"opt": func(p *float64) string {
			if p == nil {
				return "-"
			}
			return num(*p)
		},
		"signed": func(p *float64) string {
			if p == nil {
				return ""
			}
			return fmt.Sprintf("%+.1f %%", *p)
		},
	}
	t, err := template.New("report").Funcs(funcs).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report: html template: %w", err)
	}
	return t.Execute(w, r)
}

// tuneFigures is a tune setting's figures in a line.
func tuneFigures(f *TuneFigures) string {
	if f.Seconds > 0 || f.RowsPerSecond > 0 {
		return fmt.Sprintf("%s s (%s rows/s)", num(f.Seconds), num(f.RowsPerSecond))
	}
	return fmt.Sprintf("%s/s, p50 %.3g ms, p99 %.3g ms", num(f.Throughput), 1e3*f.P50Seconds, 1e3*f.P99Seconds)
}

// opLines are the latency curves of operations (median minute).
func opLines(ops []Operation) []pctLine {
	var out []pctLine
	for _, o := range ops {
		l := pctLine{name: o.Name}
		for _, p := range o.Latency {
			l.percentiles, l.seconds = append(l.percentiles, p.Percentile), append(l.seconds, p.Seconds)
		}
		out = append(out, l)
	}
	return out
}

// loadLine is a load test's latency curve.
func loadLine(lt *LoadTest) pctLine {
	l := pctLine{name: lt.Endpoint}
	for _, p := range lt.Percentiles {
		l.percentiles, l.seconds = append(l.percentiles, p.Percentile), append(l.seconds, p.Seconds)
	}
	return l
}

// loadBars are a load test's histogram buckets as bars of requests.
func loadBars(lt *LoadTest) []bar {
	bars := make([]bar, 0, len(lt.Histogram))
	for _, b := range lt.Histogram {
		bars = append(bars, bar{label: "≤" + duration(b.ToSeconds), v: float64(b.Count),
			title: fmt.Sprintf("%d requests in (%s, %s]", b.Count, duration(b.FromSeconds), duration(b.ToSeconds))})
	}
	return bars
}

// duration writes seconds in the unit that reads best: µs, ms or s.
func duration(s float64) string {
	switch {
	case s < 1e-3:
		return num(s*1e6) + "µs"
	case s < 1:
		return num(s*1e3) + "ms"
	}
	return num(s) + "s"
}

// abbrev shortens an algorithm's name for a bar's label.
func abbrev(name string) string {
	short := map[string]string{"isolation_forest": "iforest", "local_outlier_factor": "lof", "one_class_svm": "ocsvm"}
	if s, ok := short[name]; ok {
		return s
	}
	return name
}

const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>gonomaly performance report {{when .Period.Since}} to {{when .Period.Until}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; } h3 { margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.health { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: bold; }
.healthy { background: #2e7d32; } .degraded { background: #ef6c00; } .critical { background: #c62828; } .no_data { background: #777; }
.better { color: #2e7d32; } .worse { color: #c62828; }
.sev-critical, .sev-high { color: #c62828; } .sev-medium { color: #ef6c00; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 0.5em 0; }
svg .frame { fill: #fafafa; stroke: #bbb; } svg .grid { stroke: #e6e6e6; } svg .tick, svg .unit { font-size: 10px; fill: #555; }
svg .data { fill: none; stroke: #1565c0; stroke-width: 1.2; } svg .trend { stroke: #c62828; stroke-width: 1.5; stroke-dasharray: 6 3; }
svg .alert { stroke: #ef6c00; stroke-width: 1; opacity: 0.7; } svg line.sev-critical, svg line.sev-high { stroke: #c62828; }
svg .bar { fill: #90caf9; } svg .bar.best { fill: #1565c0; } svg .err { stroke: #333; stroke-width: 1.2; fill: none; }
svg .pt { fill: #1565c0; } svg .pred { fill: none; stroke: #c62828; stroke-width: 2; } svg .fit { fill: none; stroke: #c62828; stroke-width: 1.2; }
svg .limit { stroke: #c62828; stroke-dasharray: 4 3; }
svg .pctl { fill: none; stroke-width: 1.6; } svg .label { font-size: 10px; }
svg .pctl.line-0 { stroke: #1565c0; } svg .pctl.line-1 { stroke: #c62828; } svg .pctl.line-2 { stroke: #2e7d32; } svg .pctl.line-3 { stroke: #6a1b9a; } svg .pctl.line-4 { stroke: #ef6c00; }
svg .pt.line-1, svg .label.line-1 { fill: #c62828; } svg .pt.line-2, svg .label.line-2 { fill: #2e7d32; } svg .pt.line-3, svg .label.line-3 { fill: #6a1b9a; } svg .pt.line-4, svg .label.line-4 { fill: #ef6c00; } svg .label.line-0 { fill: #1565c0; }
</style>
</head>
<body>
<h1>gonomaly performance report</h1>
<p>{{when .Period.Since}} to {{when .Period.Until}}, compared with {{when .Previous.Since}} to {{when .Previous.Until}}. Report model version {{.Version}}, generated {{when .GeneratedAt}}.</p>

<h2 id="summary">Executive summary</h2>
<p><span class="health {{.Summary.Health}}">{{.Summary.Health}}</span></p>
<ul>{{range .Summary.Reasons}}<li>{{.}}</li>{{end}}</ul>
<table>
<tr><th>figure</th><th>this period</th><th>previous period</th><th>change</th></tr>
{{range .Summary.Headlines}}<tr><td>{{.Name}}{{if .Unit}} ({{.Unit}}){{end}}</td><td class="n">{{opt .Value}}</td><td class="n">{{opt .Previous}}</td><td class="{{.Change}}">{{.Change}} {{signed .ChangePercent}}</td></tr>
{{end}}</table>

<h2 id="recommendations">Recommendations</h2>
{{if .Recommendations}}<ol>{{range .Recommendations}}<li><span class="sev-{{.Severity}}">[{{.Severity}}]</span> <b>{{.Subject}}</b> ({{.Source}}): {{.Text}}{{if .Actions}}<ul>{{range .Actions}}<li>{{.}}</li>{{end}}</ul>{{end}}</li>
{{end}}</ol>{{else}}<p>Nothing to do.</p>{{end}}

<h2 id="trends">Trends</h2>
{{if .Series}}{{range $i, $s := .Series}}<h3>{{$s.Name}}{{if $s.Unit}} ({{$s.Unit}}){{end}}</h3>
<p>{{$s.Samples}} samples, {{len $s.Points}} points charted; min {{num $s.Min}}, mean {{num $s.Mean}}, max {{num $s.Max}}. Trend: <b>{{$s.Trend.Direction}}</b>, strength {{num $s.Trend.Strength}} (p = {{num $s.Trend.P}}), {{num $s.Trend.SlopePerHour}} an hour. {{$s.Trend.Recommendation}}</p>
{{seriesChart $i $s}}
{{end}}{{else}}<p>No samples stored in the period.</p>{{end}}

<h2 id="operations">Operations</h2>
{{if .Operations}}<table>
<tr><th>operation</th><th>minutes</th><th>per second</th><th>error rate</th><th>p50</th><th>p95</th><th>p99 (median minute)</th><th>worst p99</th><th>alloc / call</th></tr>
{{range .Operations}}<tr><td>{{.Name}}</td><td class="n">{{.Samples}}</td><td class="n">{{num .PerSecond}}</td><td class="n">{{pct .ErrorRate}}</td><td class="n">{{pctl . 50.0}}</td><td class="n">{{pctl . 95.0}}</td><td class="n">{{ms .P99Seconds}}</td><td class="n">{{ms .P99MaxSeconds}}</td><td class="n">{{if .MeanAllocBytes}}{{num .MeanAllocBytes}} B{{end}}</td></tr>
{{end}}</table>
<p>p50, p95 and p99 are the median minute's (the monitor stores these three percentiles of each minute, no histogram; p50 and p95 are read from a sample of up to 120 minutes spread over the period).</p>
{{with latencyCurves .Operations}}{{latencyChart .}}{{end}}{{else}}<p>No operation summaries stored in the period.</p>{{end}}

<h2 id="alerts">Alerts</h2>
<p>{{.Alerts.Total}} raised, {{len .Alerts.CarriedOver}} carried over from before the period, {{.Alerts.Active}} still active at the end.{{range $k, $v := .Alerts.BySeverity}} {{$k}}: {{$v}}.{{end}}</p>
{{if .Alerts.Items}}<table>
<tr><th>raised</th><th>resolved</th><th>severity</th><th>rule</th><th>title</th><th>value</th><th>threshold</th></tr>
{{range .Alerts.Items}}<tr><td>{{when .Time}}</td><td>{{if .ResolvedAt}}{{when .ResolvedAt}}{{else}}active{{end}}</td><td class="sev-{{.Severity}}">{{.Severity}}</td><td>{{.Rule}}</td><td>{{.Title}}</td><td class="n">{{num .Value}}</td><td class="n">{{num .Threshold}}</td></tr>
{{end}}</table>{{end}}
{{if .Alerts.CarriedOver}}<h3>Raised before the period, still active at its start</h3><table>
<tr><th>raised</th><th>resolved</th><th>severity</th><th>rule</th><th>title</th><th>value</th><th>threshold</th></tr>
{{range .Alerts.CarriedOver}}<tr><td>{{when .Time}}</td><td>{{if .ResolvedAt}}{{when .ResolvedAt}}{{else}}active{{end}}</td><td class="sev-{{.Severity}}">{{.Severity}}</td><td>{{.Rule}}</td><td>{{.Title}}</td><td class="n">{{num .Value}}</td><td class="n">{{num .Threshold}}</td></tr>
{{end}}</table>{{end}}

<h2 id="models">Model health</h2>
{{if .Models}}<table>
<tr><th>detector</th><th>status</th><th>rows</th><th>flagged</th><th>expected</th><th>rate p</th><th>score PSI</th><th>worst PSI</th><th>score KS p</th></tr>
{{range .Models}}<tr><td>{{.Detector}}</td><td>{{.Status}}</td><td class="n">{{.Rows}}</td><td class="n">{{pct .AnomalyRate}}</td><td class="n">{{pct .ExpectedRate}}</td><td class="n">{{num .RateP}}</td><td class="n">{{num .ScorePSI}}</td><td class="n">{{num .ScorePSIMax}}</td><td class="n">{{num .ScoreKSP}}</td></tr>
{{end}}</table>{{else}}<p>No model health stored in the period.</p>{{end}}

<h2 id="benchmarks">Benchmark results</h2>
{{range $i, $b := .Benchmarks}}<h3>{{$b.Name}} <small>{{$b.SuiteID}}, {{when $b.CreatedAt}}</small></h3>
<p>Median total (fit + score) seconds per cell, with the 95 % confidence interval of the mean.</p>
{{benchChart $i $b}}
<table><tr><th>cell</th><th>status</th><th>median s</th><th>95 % CI</th><th>rows/s</th><th>ROC-AUC</th></tr>
{{range $b.Cells}}<tr><td>{{.ID}}</td><td>{{.Status}}</td><td class="n">{{num .Seconds}}</td><td class="n">{{num .CILow}} to {{num .CIHigh}}</td><td class="n">{{num .Throughput}}</td><td class="n">{{opt .ROCAUC}}</td></tr>
{{end}}</table>
{{else}}<p>No benchmark runs stored in the period.</p>{{end}}

<h2 id="comparison">Algorithm comparison</h2>
{{range $i, $c := .Comparisons}}<h3>{{$c.Dataset}} <small>{{$c.Rows}} rows x {{$c.Cols}}, {{$c.SuiteID}}</small></h3>
{{compareChart $i $c}}
<table><tr><th>rank</th><th>algorithm</th><th>status</th><th>ROC-AUC</th><th>AP</th><th>median s</th><th>rows/s</th><th>Pareto</th></tr>
{{range $c.Algorithms}}<tr><td class="n">{{.Rank}}</td><td>{{.Algorithm}}</td><td>{{.Status}}</td><td class="n">{{opt .ROCAUC}}</td><td class="n">{{opt .AveragePrecision}}</td><td class="n">{{num .Seconds}}</td><td class="n">{{num .Throughput}}</td><td>{{if .Pareto}}yes{{end}}</td></tr>
{{end}}</table>
{{range $c.Significant}}<p>{{.Faster}} is {{num .Ratio}}x faster than {{.Slower}} (Mann-Whitney p = {{num .P}}).</p>{{end}}
{{else}}<p>No comparisons stored in the period.</p>{{end}}
{{with .Datasets}}
<h2 id="datasets">Comparison across datasets</h2>
<p>ROC-AUC of each algorithm on each dataset (its newest comparison), ranked within each dataset (1 = best). Friedman test: {{if .Chi2}}χ² = {{opt .Chi2}}, p = {{opt .P}}{{else}}undefined (every dataset ties every algorithm){{end}}.{{if .CriticalDifference}} Nemenyi critical difference at 0.05: {{opt .CriticalDifference}}; algorithms joined by a bar are not significantly different.{{end}}</p>
{{cdChart .}}
<table><tr><th>dataset</th>{{range .Algorithms}}<th>{{.}}</th>{{end}}</tr>
{{range .Datasets}}<tr><td>{{.Dataset}}</td>{{range .Scores}}<td class="n">{{num .}}</td>{{end}}</tr>
{{end}}<tr><th>mean rank</th>{{range .MeanRanks}}<th class="n">{{num .}}</th>{{end}}</tr>
<tr><th>median s</th>{{range .Seconds}}<th class="n">{{num .}}</th>{{end}}</tr></table>
<p><b>Recommendation ({{.Recommendation.Rule}}):</b> {{.Recommendation.Text}}.</p>
{{end}}

<h2 id="versions">Performance by version</h2>
{{with .Versions}}{{if .Builds}}<table><tr><th>build</th><th>version</th><th>benchmark runs</th><th>newest run</th></tr>
{{range .Builds}}<tr><td>{{.Build}}</td><td>{{.GonomalyVersion}}</td><td class="n">{{.Runs}}</td><td>{{when .Newest}}</td></tr>
{{end}}</table>{{else}}<p>No benchmark runs stored in the period.</p>{{end}}
{{if .New}}<p>Cells of {{.New}} against {{.Old}}: median total seconds over the iterations of each build's runs (a run stored without its iterations counts its median once). A change is a regression or an improvement only when Mann-Whitney's p is below 0.05; "~" otherwise.</p>
<table><tr><th>algorithm</th><th>rows</th><th>cols</th><th>contamination</th><th>old s (n)</th><th>new s (n)</th><th>samples</th><th>change</th><th>p</th><th>verdict</th></tr>
{{range .Cells}}<tr><td>{{.Algorithm}}</td><td class="n">{{.Rows}}</td><td class="n">{{.Cols}}</td><td class="n">{{num .Contamination}}</td><td class="n">{{num .OldSeconds}} ({{.OldN}})</td><td class="n">{{num .NewSeconds}} ({{.NewN}})</td><td>{{.Samples}}</td><td class="n">{{printf "%+.1f %%" .ChangePercent}}</td><td class="n">{{opt .P}}</td><td class="{{if eq .Verdict "regression"}}worse{{else if eq .Verdict "improvement"}}better{{end}}">{{.Verdict}}{{with .Warning}}<br/><small class="warn">{{.}}</small>{{end}}</td></tr>
{{end}}</table>{{else if .Builds}}<p>One build measured in the period: nothing to compare.</p>{{end}}{{end}}

<h2 id="scalability">Scalability</h2>
{{range $i, $c := .Scalability}}<h3>{{$c.Algorithm}} <small>{{$c.Source}} {{$c.SuiteID}}, {{$c.Cols}} columns</small></h3>
<p>Grows as <b>{{$c.Pattern}}</b> (log-log exponent {{num $c.Exponent}}, R² {{num $c.R2}}, grade {{$c.Grade}}); predicted {{num $c.Predicted10x}} {{$c.Basis}} seconds at {{x10 $c.LargestRows}} rows (ten times the largest measured).</p>
{{curveChart $i $c}}
{{else}}<p>No scalability curves stored in the period.</p>{{end}}

<h2 id="memory">Memory stress</h2>
{{range $i, $m := .Memory}}<h3>{{$m.Algorithm}} <small>{{$m.SuiteID}}</small></h3>
<p>Stopped: {{$m.StopReason}}; largest size that finished {{$m.LargestRows}} rows; {{num $m.RSSBytesPerRow}} bytes of resident memory per row ({{num $m.FitPeakBytesPerRow}} of peak heap in fit){{if $m.GrowthClass}}, growth {{$m.GrowthClass}}{{end}}; kill line {{mb $m.KillAtBytes}}.</p>
{{memoryChart $i $m}}
{{else}}<p>No memory tests stored in the period.</p>{{end}}

<h2 id="loadtests">Load tests</h2>
{{if .LoadTests}}<table><tr><th>run</th><th>endpoint</th><th>type</th><th>model</th><th>rate / clients</th><th>requests</th><th>throughput /s</th><th>success</th><th>p50</th><th>p99</th><th>max</th><th>generator CPU / request</th></tr>
{{range .LoadTests}}<tr><td>{{when .CreatedAt}}<br/><small>{{.SuiteID}}</small></td><td>{{.Endpoint}}</td><td>{{.Type}}</td><td>{{.Model}}</td><td class="n">{{if .Rate}}{{num .Rate}}/s{{else}}{{.Concurrency}}{{end}}</td><td class="n">{{.Requests}}</td><td class="n">{{num .Throughput}}</td><td class="n">{{pct .SuccessRate}}</td><td class="n">{{ms .P50Seconds}}</td><td class="n">{{ms .P99Seconds}}</td><td class="n">{{ms .MaxSeconds}}</td><td class="n">{{if .GeneratorCPUPerRequest}}{{us .GeneratorCPUPerRequest}}{{end}}</td></tr>
{{end}}</table>
<p>A ramp's figures are its best step's (the highest rate that held its target), else its last step's; a training stress test's are its jobs'. The generator's CPU a request was not the service's where the two shared a machine.</p>
{{with newestCurve .LoadTests}}<h3>Newest: {{.SuiteID}} <small>{{.Type}}, {{.Endpoint}}</small></h3>
{{if .Percentiles}}{{loadCurveChart .}}{{end}}{{if .Histogram}}{{loadHistChart .}}{{end}}{{end}}
{{range .LoadTests}}{{$id := .SuiteID}}{{with .Ramp}}<h3>Ramp {{$id}}: best rate {{num .BestRate}}/s <small>p99 target {{ms .P99TargetSeconds}}, success at least {{pct .MinSuccessRate}}; stopped: {{.StopReason}}</small></h3>
<table><tr><th>rate /s</th><th>held</th><th>throughput /s</th><th>success</th><th>p99</th><th>why not</th></tr>
{{range .Steps}}<tr><td class="n">{{num .Rate}}</td><td>{{if .Pass}}yes{{else}}no{{end}}</td><td class="n">{{num .Throughput}}</td><td class="n">{{pct .SuccessRate}}</td><td class="n">{{ms .P99Seconds}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}{{end}}
{{else}}<p>No load tests stored in the period.</p>{{end}}

<h2 id="searches">Parameter searches</h2>
{{if .Searches}}<table class="searches"><tr><th>run</th><th>algorithm</th><th>dataset</th><th>metric</th><th>trials ok / failed</th><th>best</th><th>best parameters</th><th>runner-up gap</th><th>defaults</th></tr>
{{range .Searches}}<tr class="search"><td>{{when .CreatedAt}}<br/><small>{{.SuiteID}}</small></td><td>{{.Algorithm}}</td><td>{{.Dataset}}</td><td>{{.Metric}}</td><td class="n">{{.OK}} / {{.Failed}}</td><td class="n">{{opt .BestValue}}</td><td>{{range $k, $v := .BestParameters}}{{$k}}={{$v}} {{end}}</td><td class="n">{{opt .Gap}}</td><td class="n">{{if .DefaultValue}}{{opt .DefaultValue}}{{else}}not tried{{end}}</td></tr>
{{end}}</table>
<p>Trials are ranked by the search's metric, fitted and scored on the same labelled rows; "defaults" is the trial with the algorithm's default parameters, when the search ran it. At most {{maxSearches}} searches are listed (the newest).</p>
{{else}}<p>No parameter searches stored in the period.</p>{{end}}

<h2 id="tuning">Tuning runs</h2>
{{if .TuneRuns}}<table class="tune-runs"><tr><th>run</th><th>mode</th><th>target</th><th>p99 target</th><th>before</th><th>after</th><th>setting chosen</th><th>applied</th><th>why</th></tr>
{{range .TuneRuns}}<tr class="tune-run"><td>{{when .CreatedAt}}<br/><small>{{.SuiteID}}</small></td><td>{{.Mode}}</td><td>{{.Target}}</td><td class="n">{{if .TargetP99Seconds}}{{ms .TargetP99Seconds}}{{end}}</td><td>{{with .Before}}{{tuneFigures .}}{{end}}</td><td>{{with .After}}{{tuneFigures .}}{{end}}</td><td>{{.Setting}}</td><td>{{if .Applied}}yes{{else}}no{{end}}</td><td>{{.Note}}{{if .Truncated}} (the budget ended the search early){{end}}</td></tr>
{{end}}</table>
<p>Service runs: throughput and p50 / p99 of predictions before (the settings in force) and after (the setting chosen); offline runs: seconds to score the file with the defaults and the fastest setting. At most {{maxTuneRuns}} runs are listed (the newest).</p>
{{else}}<p>No tuning runs stored in the period.</p>{{end}}
{{if .Skipped}}<h2 id="skipped">Unreadable documents</h2><ul>{{range .Skipped}}<li>{{.Kind}} {{.ID}}: {{.Reason}}</li>{{end}}</ul>{{end}}
</body>
</html>
`
