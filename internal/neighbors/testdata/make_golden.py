#!/usr/bin/python3
"""Writes the golden neighbour lists that sktree_test.go compares against: scikit-learn 1.2.1's
KDTree-based kneighbors on data with many exact ties, as LocalOutlierFactor calls it.
Run from this directory: /usr/bin/python3 make_golden.py"""
import numpy as np
from sklearn.neighbors import NearestNeighbors

def write(name, X, k):
    nn = NearestNeighbors(n_neighbors=k, algorithm="kd_tree", leaf_size=30).fit(X)
    d_train, i_train = nn.kneighbors()          # training rows, self removed (LOF's call)
    d_new, i_new = nn.kneighbors(X[:50] + 0.5)  # new rows
    np.savetxt(f"{name}.X.csv", X, fmt="%.17g", delimiter=",")
    np.savetxt(f"{name}.train.idx", i_train, fmt="%d", delimiter=",")
    np.savetxt(f"{name}.query.idx", i_new, fmt="%d", delimiter=",")

rng = np.random.default_rng(0)
write("discrete", rng.integers(0, 4, size=(700, 5)).astype(float), 20)   # heavy ties
write("dups", np.repeat(rng.integers(0, 3, size=(40, 3)).astype(float), 25, axis=0), 20)  # > k duplicates
write("mixed", np.round(rng.normal(size=(1200, 7)), 1), 10)
