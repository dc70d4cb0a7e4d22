// Package neighbors is the exact euclidean k-nearest-neighbour index shared by the
// distance-based detectors (knn and local_outlier_factor).
//
// Build copies the training rows into tree order (a KD-tree split at the median of each node's
// widest dimension, leaves of at most LeafSize rows, a bounding box per node) with the columns
// reordered widest first. Query answers new rows; QueryTrain answers the training rows
// themselves, leaving each row out of its own neighbours while keeping rows equal to it at
// distance 0, as scikit-learn's kneighbors(X=None) does. Narrow data (up to AutoMaxDim columns)
// is searched by walking the tree nearest child first; wide data by blocked brute force over
// the leaves, a block of queries against one leaf at a time, nearest leaves first. Both prune
// with box lower bounds and stop a distance early once its partial sum exceeds the current
// k-th best, and both compute every distance the same way, as the square root of the sum of
// squared differences (never the |a|^2 + |b|^2 - 2ab shortcut, which turns the zero distance of
// duplicate rows into rounding noise), so they return bit-identical answers.
//
// Answers are row-major n x k arrays sorted by distance, ties broken by the lower row number;
// they are exact and do not depend on the number of workers. A query allocates its per-worker
// scratch once, never per row.
package neighbors
