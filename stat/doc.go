// Package stat holds the statistics the other packages share, as plain functions over float64
// slices in the style of gonum's floats and stat: the median and numpy's linear quantile, average
// ranks as scipy.stats.rankdata gives them, Pearson and Spearman correlation, an ordinary least
// squares line with its R², and the two-sided Mann-Whitney U test as scipy.stats.mannwhitneyu
// computes it (the exact small-sample distribution, or the normal approximation with tie and
// continuity corrections); for series taken in order the Mann-Kendall trend test, the
// Theil-Sen slope and Pettitt's change-point test; and for drift between two samples the
// two-sample Kolmogorov-Smirnov test (scipy's ks_2samp), the population stability index (also
// from bin counts, so a monitor keeps only counts), the Kolmogorov-Smirnov test over shared bins
// (KSFromCounts), the chi-square p-value of a PSI (PSIPValue), Histogram (equal-frequency bins
// that a model keeps of its training data and a monitor counts live rows into) and the exact
// binomial test (binomtest). No function modifies its inputs; one that produces a slice writes
// it into a dst argument, so the caller owns the allocation. An undefined result (an empty sample, a
// NaN among the values, a constant variable in a correlation) is NaN, as numpy and scipy give it
// with their default nan_policy; a mismatch of lengths or an argument out of its domain is a
// programmer's error and panics with a message that starts with "stat: ". The reference values in
// the tests come from numpy 1.24 and scipy 1.10, with the Python that produced them. The package
// imports nothing of gonomaly's, so any package (detector, eval, bench, monitor) may use it.
package stat
