// Package ocsvm is a one-class support vector machine with an RBF kernel (Schoelkopf et al.,
// "Estimating the support of a high-dimensional distribution", 2001), trained the way libsvm
// trains it, so that its scores agree with scikit-learn's OneClassSVM.
//
// Fit solves min 0.5 a'Qa subject to 0 <= a_i <= 1 and sum a_i = nu*l with
// Q_ij = exp(-gamma*|x_i-x_j|^2), using libsvm's SMO solver: second-order working-set selection
// (Fan, Chen and Lin, 2005), shrinking with gradient reconstruction, and a least-recently-used
// cache of kernel columns stored as float32 like libsvm's. It keeps only the support vectors
// (rows with a_i > 0), their alphas and the offset rho. Score returns
// rho - sum_i a_i K(sv_i, x), scikit-learn's -decision_function: higher is more anomalous,
// and rows inside the learned boundary score below 0.
//
// gamma defaults to scikit-learn's "scale", 1/(d*Var(X)) over every entry of X. Kernel
// columns and scores are computed on every core; each value is computed on its own and summed
// in a fixed order, so the results are bit-identical for any number of workers.
package ocsvm
