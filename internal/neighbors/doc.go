// Package neighbors is the exact euclidean k-nearest-neighbour index shared by the
// distance-based detectors (knn and local_outlier_factor).
//
// Query answers new rows; QueryTrain answers the training rows themselves, leaving each row
// out of its own neighbours while keeping rows equal to it at distance 0, as scikit-learn's
// kneighbors(X=None) does. Every distance returned is the square root of the sum of squared
// differences (never the |a|^2 + |b|^2 - 2ab shortcut, which turns the zero distance of
// duplicate rows into rounding noise; the wide search uses it only to dismiss rows, with its
// error bounded).
//
// Narrow data (up to AutoMaxDim columns, scikit-learn's own switch) goes through a KD-tree that
// reproduces scikit-learn 1.2's KDTree exactly (see skTree), so where several rows tie at the
// k-th distance the same rows are kept as scikit-learn keeps them, and LOF values on data with
// duplicates agree to the last digits. Wide data is searched by brute force behind two exact
// prefilters (wide.go, on CPUs with AVX2 and FMA): a float32 distance in the 16 leading
// principal components, then one over every column, each with a proven bound on its rounding
// error, dismiss the rows that cannot be among the k nearest, and only the few left have their
// distances computed exactly. Where the prefilters do not apply, a blocked brute force lays the
// rows out in the leaves of a median-split tree and prunes by box bounds and partial sums. Either
// way ties go to the lower row number, and the answers are the same, bit for bit.
//
// Answers are row-major n x k arrays sorted by distance; they are exact and do not depend on
// the number of workers. A query allocates its per-worker scratch once, never per row.
package neighbors
