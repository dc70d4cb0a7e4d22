// Package detector is gonomaly's detection engine: one small Detector interface (fit on a
// matrix, score a matrix, higher = more anomalous), a registry of the algorithms by name with
// typed, validated parameters, a Model that adds the contamination threshold and the data
// width, and a versioned, checksummed binary model format.
//
// The algorithms live in sub-packages that know nothing of this one (iforest, lof, ocsvm, knn,
// hbos, ecod); registry.go wires each to its name with one Register call. Their scores agree
// with scikit-learn and PyOD: see docs/architecture.md for each score's definition.
package detector
