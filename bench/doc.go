// Package bench is gonomaly's performance system: benchmark suites, scalability analysis,
// memory stress tests and algorithm comparison. This first part holds the statistics the
// rest reports with: Summarize (median, mean, standard deviation, a 95 % confidence interval of
// the mean, outlier runs flagged as hyperfine flags them), MannWhitneyU (whether two timing
// samples differ, as benchstat decides it; scipy's numbers) and FitComplexity (which growth
// pattern a series of timings follows, its log-log exponent and a grade).
package bench
