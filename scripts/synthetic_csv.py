#!/usr/bin/python3
"""Write a labelled synthetic CSV for benchmarks: standard-normal inliers plus 1 % outliers drawn
uniformly from [-6, 6]^d, columns f0..f{d-1}, label.  Usage: synthetic_csv.py ROWS COLS OUT.csv [SEED]"""
import sys
import numpy as np
rows, cols, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
X = rng.standard_normal((rows, cols))
y = np.zeros(rows, dtype=int)
idx = rng.choice(rows, rows // 100, replace=False)
X[idx] = rng.uniform(-6, 6, (len(idx), cols)); y[idx] = 1
header = ",".join([f"f{j}" for j in range(cols)] + ["label"])
np.savetxt(out, np.column_stack([X, y]), delimiter=",", header=header, comments="", fmt=["%.8g"] * cols + ["%d"])
