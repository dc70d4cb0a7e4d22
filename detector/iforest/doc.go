// Package iforest is the Isolation Forest of Liu, Ting and Zhou (2008) with the semantics of
// scikit-learn 1.2's IsolationForest, so that its scores mean the same as scikit-learn's
// -score_samples.
//
// Each of Trees trees is grown on max_samples rows (psi) drawn without replacement (with, if
// Bootstrap) and, if MaxFeatures asks for fewer than all, on a random subset of the columns.
// A node picks a random feature among those not constant in it and splits at a threshold
// uniform between that feature's minimum and maximum in the node, until the node holds one row
// or reaches depth ceil(log2(psi)). A row's path length in a tree is the depth of its leaf plus
// c(rows in the leaf), the expected depth still needed to isolate it (see AveragePathLength),
// and its score is s(x, psi) = 2^(-mean path length / c(psi)) in (0, 1]: near 1 for rows
// isolated quickly (anomalies), about 0.5 or below for ordinary rows. As in scikit-learn, data
// are compared in float32.
//
// The forest is stored in flat arrays, each tree a complete binary tree padded with
// pass-through nodes, so scoring a row in a tree is exactly depth branch-free steps. Score
// pushes blocks of rows through one tree at a time (the tree stays in L1) across all cores.
// Tree i draws its random numbers from a stream derived only from (Seed, i), so a seed gives
// bit-identical scores on any number of cores.
package iforest
