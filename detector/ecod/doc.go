// Package ecod is ECOD, empirical-cumulative-distribution-based outlier detection (Li et al.,
// "ECOD: Unsupervised Outlier Detection Using Empirical Cumulative Distribution Functions",
// IEEE TKDE 2022), as PyOD defines it. It has no parameters. For each feature it keeps the
// sorted training values and the sign of the feature's skewness. A value x of a feature gets
// two tail probabilities from the training data, the share of values <= x and the share >= x;
// their negative logs U_l and U_r are large when x sits far out in the left or right tail. The
// feature contributes max(U_skew, (U_l+U_r)/2), where U_skew follows the skewness: U_l for a
// left-skewed feature, U_r for a right-skewed one, U_l + U_r for a symmetric one. A row scores
// the sum over features, so it is high when the row is in the tails of many features.
//
// Scoring needs only the training values, so a row scores the same alone or in a batch. A new
// value beyond every training value counts as one training value (tail term log n), keeping
// scores finite; training rows always count themselves, so their scores are exactly PyOD's.
// Large batches are scored by radix-sorting each feature's values and merging them with the
// training values, small ones by binary search; both give identical counts and scores.
package ecod
