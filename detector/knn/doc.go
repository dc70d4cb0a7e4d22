// Package knn is the k-nearest-neighbour distance detector (Ramaswamy, Rastogi and Shim, 2000)
// as PyOD defines it: a row is as anomalous as it is far from its k nearest training rows.
//
// Fit keeps the training rows in an exact euclidean neighbour index (internal/neighbors: a
// KD-tree for narrow data, blocked brute force for wide data) and scores them leaving each row
// out of its own neighbours; TrainScores returns those scores. Score measures new rows against
// the training rows, so a row's score never depends on the batch it arrives in. The method
// turns the k sorted distances into one score: the largest (the default, the distance to the
// k-th neighbour), their mean, or their median. Scores match scikit-learn's
// NearestNeighbors(k+1).kneighbors(X)[:, k] on the training data.
package knn
