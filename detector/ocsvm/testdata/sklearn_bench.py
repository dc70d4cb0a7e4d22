#!/usr/bin/python3
"""Times scikit-learn's OneClassSVM (libsvm) fit and decision_function for comparison with
BenchmarkFit/BenchmarkScore. Usage: sklearn_bench.py [--runs 5] NAME_OR_CSV ...
A path ending in .csv is read as is (compare.sh writes the synthetic 20000x10 set with
TestWriteSyntheticBenchData -ocsvm.synthetic-csv=PATH); a label column, if any, is dropped."""
import argparse, os, sys, time
import numpy as np, pandas as pd
from sklearn.svm import OneClassSVM

ap = argparse.ArgumentParser()
ap.add_argument("data", nargs="+")
ap.add_argument("--runs", type=int, default=5)
a = ap.parse_args()
for path in a.data:
    if not path.endswith(".csv"):
        path = os.path.join("/work/shared/datasets/adbench", path + ".csv")
    df = pd.read_csv(path)
    if "label" in df:
        df.pop("label")
    X = df.to_numpy(dtype=np.float64)
    fits, scores = [], []
    for r in range(a.runs):
        m = OneClassSVM(kernel="rbf", gamma="scale", nu=0.5, tol=1e-3)
        t0 = time.perf_counter(); m.fit(X); t1 = time.perf_counter()
        s = -m.decision_function(X); t2 = time.perf_counter()
        fits.append(t1 - t0); scores.append(t2 - t1)
    print(f"{os.path.basename(path)} rows={X.shape[0]} cols={X.shape[1]} nSV={len(m.support_)} "
          f"fit_median_s={np.median(fits):.4f} score_median_s={np.median(scores):.4f} "
          f"fits={[round(f,4) for f in fits]} scores={[round(s,4) for s in scores]}", flush=True)
