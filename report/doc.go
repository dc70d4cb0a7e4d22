// Package report turns what the store holds for a period into a performance report, and
// renders it.
//
// Build reads, for a Period, the samples a serving monitor stored every minute (process
// resources, operation summaries, model health), the alerts it raised (and those raised
// before the period still active at its start) and the documents the performance commands
// stored (benchmark, scalability, memory, compare and load-test runs), and builds a Report:
// an executive summary (overall health with its reasons, headline figures against the period
// of the same length before), benchmark results, algorithm comparisons and their ranking over
// datasets (Friedman, Nemenyi, a recommended algorithm), benchmark cells compared across
// builds (Mann-Whitney on their iterations), scalability curves with their fitted growth and
// the time predicted at ten times the rows, memory stress results, load tests, operation
// summaries with their latency percentiles, alerts, sampled series with their trends
// (monitor.AnalyzeTrend), model health and recommendations (the trend advice, the monitor's
// bottleneck rules over the stored figures, active severe alerts, drifting models, steep
// growth, memory budgets, the datasets' choice). Every sampled series is averaged down to at
// most MaxPoints points, so a month's report is as small as a day's; every figure is finite.
//
// The Report is the model; WriteJSON renders it as versioned JSON (docs/report-json.md),
// WriteHTML as one self-contained page whose charts are inline SVG drawn here, with no request
// to another host, and WritePDF as an A4 PDF with the same sections and charts.
package report
