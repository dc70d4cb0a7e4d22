#!/usr/bin/python3
"""Time scikit-learn (and the numpy HBOS/ECOD reference) on one CSV file, the way gonomaly's
BENCHMARKS.md compares: fit + score of every row, excluding the time to read the file.

Usage: sklearn_timing.py ALGO DATA.csv [--label label]
Prints one JSON object: {"algorithm", "rows", "cols", "fit_seconds", "score_seconds"}.

hbos() and ecod() are PyOD's definitions written out in numpy, copied from the project's shared
reference tool (shared/tools/sklearn_ref.py), so this script stands alone.
"""
import argparse, json, sys, time
import numpy as np
# Imported before any timing starts: module loading is not the algorithm's cost.
from scipy.stats import skew
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.svm import OneClassSVM


def hbos(X, n_bins=10, alpha=0.1, tol=0.5):
    """-sum over features of log2(density of the row's bin + alpha); numpy histogram with density=True,
    bins found with np.digitize(right=True); a value below the first edge (or above the last) within
    tol * bin width takes the first (last) bin, further out the smallest log-density of that feature."""
    n, d = X.shape
    out = np.zeros((n, d))
    for i in range(d):
        hist, edges = np.histogram(X[:, i], bins=n_bins, density=True)
        logd = np.log2(hist + alpha)
        idx = np.digitize(X[:, i], edges, right=True)
        sc = np.empty(n)
        inside = (idx >= 1) & (idx <= n_bins)
        sc[inside] = logd[idx[inside] - 1]
        lo = idx == 0
        sc[lo] = np.where(edges[0] - X[lo, i] <= (edges[1] - edges[0]) * tol, logd[0], logd.min())
        hi = idx == n_bins + 1
        sc[hi] = np.where(X[hi, i] - edges[-1] <= (edges[-1] - edges[-2]) * tol, logd[n_bins - 1], logd.min())
        out[:, i] = sc
    return -out.sum(axis=1)


def ecod(X):
    """sum over features of max(U_skew, (U_l + U_r) / 2), U_l = -log ECDF(x), U_r = -log ECDF(-x),
    ECDF(v) = #{rows with value <= v} / n, U_skew = U_l where the feature's (biased) skewness < 0,
    U_r where > 0, U_l + U_r where it is exactly 0 (a constant column counts as 0)."""
    n, d = X.shape

    def ecdf(M):
        S = np.sort(M, axis=0)
        return np.column_stack([np.searchsorted(S[:, j], M[:, j], side="right") for j in range(d)]) / n
    Ul = -np.log(ecdf(X)); Ur = -np.log(ecdf(-X))
    sk = np.sign(np.nan_to_num(skew(X, axis=0)))
    Us = Ul * -1 * np.sign(sk - 1) + Ur * np.sign(sk + 1)
    return np.maximum(Us, (Ul + Ur) / 2).sum(axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("algo"); ap.add_argument("data"); ap.add_argument("--label", default="")
    a = ap.parse_args()
    import pandas as pd
    df = pd.read_csv(a.data)
    if a.label:
        df.pop(a.label)
    X = df.to_numpy(dtype=np.float64)
    t0 = time.perf_counter()
    if a.algo == "isolation_forest":
        m = IsolationForest(n_jobs=-1, random_state=0).fit(X); t1 = time.perf_counter()
        s = -m.score_samples(X)
    elif a.algo == "local_outlier_factor":
        m = LocalOutlierFactor(n_neighbors=20, n_jobs=-1).fit(X); s = -m.negative_outlier_factor_
        t1 = time.perf_counter()
    elif a.algo == "one_class_svm":
        m = OneClassSVM(kernel="rbf", gamma="scale", nu=0.5, tol=1e-3).fit(X); t1 = time.perf_counter()
        s = -m.decision_function(X)
    elif a.algo == "knn":
        nn = NearestNeighbors(n_neighbors=6, n_jobs=-1).fit(X); t1 = time.perf_counter()
        d, _ = nn.kneighbors(X); s = d[:, 5]
    elif a.algo in ("hbos", "ecod"):
        s = hbos(X) if a.algo == "hbos" else ecod(X); t1 = time.perf_counter()
    else:
        sys.exit(f"unknown algorithm {a.algo}")
    t2 = time.perf_counter()
    assert len(s) == X.shape[0]
    print(json.dumps({"algorithm": a.algo, "rows": X.shape[0], "cols": X.shape[1],
                      "fit_seconds": t1 - t0, "score_seconds": t2 - t1}))


if __name__ == "__main__":
    main()
