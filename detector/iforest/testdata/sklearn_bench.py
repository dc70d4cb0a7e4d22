#!/usr/bin/python3
"""Times scikit-learn's IsolationForest on the data shape of BenchmarkFitScore400kx12.

Usage: /usr/bin/python3 sklearn_bench.py [RUNS]
Prints one line per run and the medians: fit, score_samples and their sum, in seconds.
"""
import sys, time
import numpy as np
from sklearn.ensemble import IsolationForest

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
X = np.random.default_rng(0).standard_normal((400_000, 12))
fits, scores = [], []
for i in range(runs):
    t0 = time.perf_counter()
    m = IsolationForest(n_jobs=-1, random_state=0).fit(X)
    t1 = time.perf_counter()
    s = -m.score_samples(X)
    t2 = time.perf_counter()
    fits.append(t1 - t0); scores.append(t2 - t1)
    print(f"run {i}: fit {t1 - t0:.3f}s score {t2 - t1:.3f}s total {t2 - t0:.3f}s", flush=True)
tot = [f + s for f, s in zip(fits, scores)]
print(f"median: fit {np.median(fits):.3f}s score {np.median(scores):.3f}s total {np.median(tot):.3f}s")
