package monitor

import (
	"maps"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the monitor on a Prometheus registry: the sampler's latest reading, each
// operation's window as a summary (p50, p95, p99), active alerts by severity, each served
// detector's health, and the custom gauges (gonomaly_custom_<name>). Every figure is read at
// scrape time; the collector keeps nothing.
func (m *Monitor) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Monitor }

var (
	descResource = func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("gonomaly_monitor_"+name, help, nil, nil)
	}
	descCPU        = descResource("process_cpu_percent", "Process CPU use over the sampler's last interval, percent of one core.")
	descGC         = descResource("gc_cpu_percent", "Share of the process's CPU taken by the garbage collector over the sampler's last interval, percent.")
	descGCPause    = descResource("gc_pause_max_seconds", "Longest stop-the-world GC pause in the sampler's last interval.")
	descOpenFiles  = descResource("process_open_files", "Open file descriptors of the process.")
	descLoad1      = descResource("system_load1", "System load average over one minute.")
	descMemAvail   = descResource("system_memory_available_bytes", "Memory available on the machine.")
	descOp         = prometheus.NewDesc("gonomaly_operation_duration_seconds", "Tracked operations over the monitor's window (default one minute): count, total time and quantiles.", []string{"operation"}, nil)
	descOpErrors   = prometheus.NewDesc("gonomaly_operation_error_ratio", "Share of the operation's runs that failed over the monitor's window.", []string{"operation"}, nil)
	descOpRate     = prometheus.NewDesc("gonomaly_operation_throughput", "Runs of the operation a second over the monitor's window.", []string{"operation"}, nil)
	descAlerts     = prometheus.NewDesc("gonomaly_alerts_active", "Active alerts, by severity.", []string{"severity"}, nil)
	descModelRate  = prometheus.NewDesc("gonomaly_model_anomaly_ratio", "Share of the detector's recent rows flagged as anomalies.", []string{"detector"}, nil)
	descModelExp   = prometheus.NewDesc("gonomaly_model_expected_anomaly_ratio", "The detector's contamination: the share of rows it is expected to flag.", []string{"detector"}, nil)
	descModelPSI   = prometheus.NewDesc("gonomaly_model_score_psi", "Population stability index of the detector's recent scores against its training scores.", []string{"detector"}, nil)
	descModelDrift = prometheus.NewDesc("gonomaly_model_feature_psi_max", "Largest population stability index of one feature of the detector's recent rows against its training data.", []string{"detector"}, nil)
)

func (collector) Describe(chan<- *prometheus.Desc) {} // unchecked: custom gauges come and go

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if r, ok := m.sampler.Latest(); ok {
		gauge(descCPU, r.CPUPercent)
		gauge(descGC, r.GCPercent)
		gauge(descGCPause, r.GCPauseMax.Seconds())
		gauge(descOpenFiles, float64(r.OpenFiles))
		gauge(descLoad1, r.Load1)
		gauge(descMemAvail, float64(r.MemAvailable))
	}
	for _, s := range m.tracker.Summaries() {
		ch <- prometheus.MustNewConstSummary(descOp, uint64(s.Count), s.Mean.Seconds()*float64(s.Count),
			map[float64]float64{0.5: s.P50.Seconds(), 0.95: s.P95.Seconds(), 0.99: s.P99.Seconds()}, s.Name)
		gauge(descOpErrors, s.ErrorRate, s.Name)
		gauge(descOpRate, s.PerSecond, s.Name)
	}
	bySeverity := map[string]float64{}
	for sev := SeverityInfo; sev <= SeverityCritical; sev++ {
		bySeverity[sev.String()] = 0
	}
	for _, a := range m.alerts.Active() {
		bySeverity[a.Severity.String()]++
	}
	for sev, n := range bySeverity {
		gauge(descAlerts, n, sev)
	}
	for _, h := range m.modelReports() {
		gauge(descModelRate, h.Rate, h.ID)
		gauge(descModelExp, h.Expected, h.ID)
		if h.Profiled {
			gauge(descModelPSI, h.ScorePSI, h.ID)
			top := 0.0
			for _, f := range h.Features {
				top = max(top, f.PSI)
			}
			gauge(descModelDrift, top, h.ID)
		}
	}
	m.mu.Lock()
	gauges := maps.Clone(m.gauges)
	m.mu.Unlock()
	for name, g := range gauges {
		help := g.help
		if help == "" {
			help = "Custom metric " + name + "."
		}
		gauge(prometheus.NewDesc("gonomaly_custom_"+name, help, nil, nil), g.f())
	}
}
