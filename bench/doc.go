// Package bench is gonomaly's performance system: benchmark suites, scalability analysis,
// memory stress tests and algorithm comparison, each producing a versioned JSON document
// (docs/performance-json.md) that records the machine, the version and the seed.
//
// A benchmark (RunBenchmark) runs every cell of a Config — algorithms x sizes x widths x
// contamination rates on seeded synthetic data, or algorithms x rates on a labelled file —
// with warm-up and measured iterations, and reports per cell the fit, score and total time,
// throughput, CPU time (getrusage), peak heap (runtime/metrics, sampled every millisecond),
// peak RSS, what the data and the model hold, and ROC-AUC, average precision and
// precision@n. A cell can run in a child process (Options.Child names a program that calls
// ServeChild), so its memory figures are its own and a cell past its timeout is killed.
// RunScalability fits how an algorithm's time grows (FitComplexity); RunMemory grows the data
// until the next step would pass a memory budget, each step in a watched child; RunCompare
// ranks algorithms on one file by accuracy and speed, with their Pareto front and
// Mann-Whitney U tests of every pair's time difference.
//
// The statistics the reports use are here too: Summarize (median, mean, standard deviation,
// a 95 % confidence interval of the mean, outlier runs flagged as hyperfine flags them),
// MannWhitneyU (whether two timing samples differ, as benchstat decides it; scipy's numbers)
// and FitComplexity (which growth pattern a series of timings follows, its log-log exponent
// and a grade).
package bench
