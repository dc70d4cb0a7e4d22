// Package hbos is the histogram-based outlier score of Goldstein and Dengel (2012) as PyOD
// defines it: each feature of the training data gets an equal-width histogram (numpy.histogram
// with density=True, Bins bins between the feature's minimum and maximum), and a row scores
// minus the sum over features of log2(density + Alpha) of the bin its value falls in. Rare
// values land in sparse bins and score high. Bins are found as numpy.digitize(right=True) does,
// so a value exactly on an inner edge takes the bin to its left; a value outside the training
// range takes the edge bin if it lies within Tol bin widths of the range, and the feature's
// smallest log-density otherwise. Scoring uses only the training histograms, so a row scores the
// same alone or in any batch, and the sums run in numpy's pairwise order so that scores match
// the reference implementation bit for bit in practice.
//
// Fit reads the data twice (range, then counts) and Score once, both spread over row chunks on
// every core; the fitted model is Bins+1 edges and Bins log-densities per feature.
package hbos
