// Package lof is the Local Outlier Factor (Breunig, Kriegel, Ng and Sander, 2000) exactly as
// scikit-learn 1.2's LocalOutlierFactor computes it, with euclidean distance.
//
// A row's k-distance is the distance to its k-th nearest neighbour; the reach distance from a
// to b is max(dist(a, b), k-distance(b)); a row's local reachability density (lrd) is
// 1 / (mean reach distance to its k neighbours + 1e-10); its LOF is the mean over its
// neighbours of lrd(neighbour) / lrd(row). Values near 1 are inliers; larger is more anomalous.
//
// Fit uses the shared exact neighbour index (internal/neighbors), leaves each training row out
// of its own neighbours (rows equal to it still count, at distance 0) and caps k at n-1.
// TrainScores returns the training LOF values (scikit-learn's -negative_outlier_factor_). Score
// treats rows as new (scikit-learn's novelty mode, -score_samples): their k neighbours are
// training rows and the densities they are compared with are the training densities, so a
// row's score never depends on the batch it arrives in.
package lof
