package main

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gonomaly/gonomaly/monitor"
)

// monitorServeFlags are serve's monitoring flags.
type monitorServeFlags struct {
	thresholds                  string
	webhook                     string
	every, sample, cool, repeat time.Duration
	warnTime, maxTime           time.Duration
	warnMem, maxMem, warnCPU    float64
	maxCPU, minThroughput       float64
	warnErrors, maxErrors       float64
}

func (f *monitorServeFlags) register(fl *pflag.FlagSet) {
	d := monitor.DefaultThresholds()
	fl.StringVar(&f.thresholds, "thresholds", "", "monitor thresholds file (YAML, or JSON for a .json name) over the defaults; the threshold flags you give override it")
	fl.StringVar(&f.webhook, "alert-webhook", "", "POST every alert event as JSON to this http(s) URL (5 s timeout, 3 retries, never delaying a request)")
	fl.DurationVar(&f.every, "monitor-interval", 10*time.Second, "time between the monitor's checks of thresholds, bottlenecks, model health, the database and leaks (1s to 1h)")
	fl.DurationVar(&f.sample, "sample-interval", time.Second, "time between resource readings (100ms to 1m)")
	fl.DurationVar(&f.cool, "alert-cooldown", 5*time.Minute, "after an alert resolves, a new firing of it within this time raises nothing (0: none)")
	fl.DurationVar(&f.repeat, "alert-repeat", 4*time.Hour, "an alert still active is sent again after this long (0: never)")
	fl.DurationVar(&f.warnTime, "warning-execution-time", d.WarningExecutionTime, "an operation's p99 above this raises a high alert (0: off)")
	fl.DurationVar(&f.maxTime, "max-execution-time", d.MaxExecutionTime, "an operation's p99 above this raises a critical alert (0: off)")
	fl.Float64Var(&f.warnMem, "warning-memory-mb", d.WarningMemoryMB, "resident memory in MB above which a high alert is raised (0: off)")
	fl.Float64Var(&f.maxMem, "max-memory-mb", d.MaxMemoryMB, "resident memory in MB above which a critical alert is raised (0: off)")
	fl.Float64Var(&f.warnCPU, "warning-cpu", d.WarningCPUPercent, "CPU in percent of the cores the process may use above which a high alert is raised (0: off)")
	fl.Float64Var(&f.maxCPU, "max-cpu", d.MaxCPUPercent, "CPU in percent of the cores above which a critical alert is raised (0: off)")
	fl.Float64Var(&f.minThroughput, "min-throughput", d.MinThroughput, "operations a second below which an operation listed in the thresholds file, while it has traffic, raises a high alert (0: off)")
	fl.Float64Var(&f.warnErrors, "warning-error-rate", d.WarningErrorRate, "share of an operation's calls failing (5xx) above which a high alert is raised, 0 to 1 (0: off)")
	fl.Float64Var(&f.maxErrors, "max-error-rate", d.MaxErrorRate, "share failing above which a critical alert is raised, 0 to 1 (0: off)")
}

// options builds the monitor's options: the thresholds by defaults < file < flags given, and
// the webhook (which the caller closes after the server).
func (f *monitorServeFlags) options(cmd *cobra.Command, log *slog.Logger) (monitor.Options, *monitor.Webhook, error) {
	var o monitor.Options
	switch {
	case f.every < time.Second || f.every > time.Hour:
		return o, nil, usagef("--monitor-interval %v: must be from 1s to 1h", f.every)
	case f.sample < 100*time.Millisecond || f.sample > time.Minute:
		return o, nil, usagef("--sample-interval %v: must be from 100ms to 1m", f.sample)
	case f.cool < 0 || f.repeat < 0:
		return o, nil, usagef("--alert-cooldown and --alert-repeat must not be negative")
	}
	th := monitor.DefaultThresholds()
	if f.thresholds != "" {
		var err error
		if th, err = monitor.LoadThresholds(f.thresholds); err != nil {
			return o, nil, usagef("--thresholds: %v", err)
		}
	}
	fl := cmd.Flags()
	set := func(name string, apply func()) {
		if fl.Changed(name) {
			apply()
		}
	}
	set("warning-execution-time", func() { th.WarningExecutionTime = f.warnTime })
	set("max-execution-time", func() { th.MaxExecutionTime = f.maxTime })
	set("warning-memory-mb", func() { th.WarningMemoryMB = f.warnMem })
	set("max-memory-mb", func() { th.MaxMemoryMB = f.maxMem })
	set("warning-cpu", func() { th.WarningCPUPercent = f.warnCPU })
	set("max-cpu", func() { th.MaxCPUPercent = f.maxCPU })
	set("min-throughput", func() { th.MinThroughput = f.minThroughput })
	set("warning-error-rate", func() { th.WarningErrorRate = f.warnErrors })
	set("max-error-rate", func() { th.MaxErrorRate = f.maxErrors })
	if err := th.Validate(); err != nil {
		return o, nil, usagef("thresholds: %v", err)
	}
	o.Thresholds = &th
	o.Every = f.every
	o.Sampler.Interval = f.sample
	o.Logger = log
	o.Alerts.Cooldown, o.Alerts.RepeatInterval = orNegative(f.cool), orNegative(f.repeat)
	// An alert whose condition is not reported resolves after five checks (at least the
	// manager's default), so a slow --monitor-interval does not resolve live alerts.
	o.Alerts.ResolveTimeout = max(5*time.Minute, 5*f.every)
	if f.webhook == "" {
		return o, nil, nil
	}
	wh, err := monitor.NewWebhook(monitor.WebhookOptions{URL: f.webhook, Logger: log})
	if err != nil {
		return o, nil, usagef("--alert-webhook: %v", err)
	}
	o.Alerts.Notifiers = []monitor.Notifier{wh}
	return o, wh, nil
}

// orNegative turns a flag's 0 ("none") into the negative value the monitor reads as none (its
// zero is the default).
func orNegative(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
