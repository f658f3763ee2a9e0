#!/usr/bin/env python3
"""Fit the weights of the data-free fitness (examples/study/budget_model.cpp,
data_free_fitness) to the study's runs.

    examples/study/fit_fitness.py docs/results/study.csv build/release/tools/nf/nf \
        [--features mixing,log_bottleneck]

Which runs: experiment 1 ("budget"), sparse fabrics only, whose weights lie
within 20% of the budget they were built for (butterfly and RadiX-Net at 2%
and 5% are really 8.6% models and would reward whatever they score).

What is fitted: `nf topo search` compares genomes at one budget, so the
target is each run's accuracy minus the mean accuracy of its budget (points),
and each score is centred the same way. Ordinary least squares on the
centred values (no intercept) gives one weight per score. The scores are the
CSV's (reachable, mixing = 1 - spectral ratio, uniformity = 1 / (1 + path
cv)) plus log10 of the bottleneck fraction,
which the CSV does not hold: it is recomputed per hidden layer with
`nf topo describe --json` and averaged, as model_scores does.

Prints the weights, and the Spearman correlation with accuracy within each
budget for the old guess and the fitted fitness, and leave-one-fabric-out:
the weights refitted without one fabric, ranking that fabric's runs against
the others (does the fit generalise beyond the fabrics it saw?).
Python 3 standard library only.
"""
import csv
import json
import math
import subprocess
import sys
from collections import defaultdict

HIDDEN = [(784, 300), (300, 100)]
ALL_FEATURES = ["reachable", "mixing", "uniformity", "log_bottleneck"]
# The default is the model data_free_fitness uses: with all four, reachable
# and uniformity take weights that change sign when one fabric is left out,
# and the within-budget Spearman is no better (docs/results/README.md).
FEATURES = ["mixing", "log_bottleneck"]


def bottleneck(nf, spec):
    """Mean bottleneck fraction of the two hidden layers of a model spec."""
    layers = spec.split(";")[0].split("|")[1:3]
    total = 0.0
    for (n_in, n_out), layer in zip(HIDDEN, layers):
        fabric = layer.split(":", 2)[2]
        out = subprocess.run(
            [nf, "topo", "describe", "--fabric", fabric, "--in", str(n_in),
             "--out", str(n_out), "--json", "--no-expressivity"],
            check=True, capture_output=True, text=True).stdout
        total += json.loads(out)["scores"]["bottleneck"]
    return total / len(layers)


def features(r):
    return {
        "reachable": r["reachable"],
        "mixing": 1.0 - r["spectral_ratio"],
        "uniformity": 1.0 / (1.0 + r["path_cv"]),
        # log10, floored at 1%: accuracy falls with the log of the rank
        # left (low-rank: rank 4 loses 12 points, rank 25 loses 1.5).
        "log_bottleneck": math.log10(max(r["bottleneck"], 0.01)),
    }


def solve(a, b):
    """Least squares by the normal equations (a few features)."""
    n = len(a[0])
    m = [[sum(row[i] * row[j] for row in a) for j in range(n)] +
         [sum(row[i] * y for row, y in zip(a, b))] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-12:
            raise SystemExit("score %s does not vary; cannot fit" % FEATURES[c])
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    out = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0
        i = j + 1
    return out


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def centred(runs, value):
    by_budget = defaultdict(list)
    for r in runs:
        by_budget[r["budget"]].append(value(r))
    mean = {b: sum(v) / len(v) for b, v in by_budget.items()}
    return [value(r) - mean[r["budget"]] for r in runs]


def fit(runs):
    cols = [centred(runs, lambda r, f=f: features(r)[f]) for f in FEATURES]
    a = [list(row) for row in zip(*cols)]
    return solve(a, centred(runs, lambda r: 100.0 * r["accuracy"]))


def fitness(w, r):
    f = features(r)
    return sum(wi * f[name] for wi, name in zip(w, FEATURES))


def old_fitness(r):
    return r["reachable"] + 0.5 * (1 - r["spectral_ratio"]) + 0.5 / (1 + r["path_cv"])


def main():
    global FEATURES
    args = sys.argv[1:]
    if len(args) == 4 and args[2] == "--features":
        FEATURES = args[3].split(",")
        bad = [f for f in FEATURES if f not in ALL_FEATURES]
        if bad:
            raise SystemExit("unknown feature(s) %s (expected some of %s)" %
                             (",".join(bad), ",".join(ALL_FEATURES)))
        args = args[:2]
    if len(args) != 2:
        raise SystemExit("usage: fit_fitness.py STUDY_CSV NF_BINARY [--features a,b,...]")
    sys.argv[1:] = args
    runs, cache = [], {}
    for row in csv.DictReader(open(sys.argv[1])):
        if row["experiment"] != "budget" or row["fabric"] == "dense":
            continue
        b = float(row["budget"])
        target = round(b * 235200) + round(b * 30000) + 1000
        if abs(int(row["weights"]) / target - 1) > 0.2:
            continue
        if row["spec"] not in cache:
            cache[row["spec"]] = bottleneck(sys.argv[2], row["spec"])
        runs.append({"fabric": row["fabric"], "budget": b, "seed": row["seed"],
                     "accuracy": float(row["test_accuracy"]),
                     "reachable": float(row["reachable"]),
                     "spectral_ratio": float(row["spectral_ratio"]),
                     "path_cv": float(row["path_cv"]), "bottleneck": cache[row["spec"]]})
    w = fit(runs)
    print("runs fitted: %d (%d fabrics)" % (len(runs), len({r["fabric"] for r in runs})))
    print("weights (accuracy points per unit of score):")
    for name, wi in zip(FEATURES, w):
        print("  %-15s %+.3f" % (name, wi))
    print("\nSpearman with accuracy   old guess   fitted")
    for b in sorted({r["budget"] for r in runs}):
        sub = [r for r in runs if r["budget"] == b]
        acc = [r["accuracy"] for r in sub]
        print("  budget %4.0f%% (%2d runs)   %+.2f       %+.2f" %
              (100 * b, len(sub), spearman([old_fitness(r) for r in sub], acc),
               spearman([fitness(w, r) for r in sub], acc)))
    acc_c = centred(runs, lambda r: r["accuracy"])
    print("  pooled within budgets   %+.2f       %+.2f" %
          (spearman(centred(runs, old_fitness), acc_c),
           spearman(centred(runs, lambda r: fitness(w, r)), acc_c)))
    # Leave one fabric out: fit on the others, score everything, and see
    # whether the held-out fabric lands where its accuracy puts it.
    held = []
    for fab in sorted({r["fabric"] for r in runs}):
        wo = fit([r for r in runs if r["fabric"] != fab])
        held.append((fab, wo))
    print("\nleave-one-fabric-out (pooled within-budget Spearman of all runs, weights"
          " fitted without the fabric):")
    for fab, wo in held:
        print("  without %-20s %+.2f   weights %s" %
              (fab, spearman(centred(runs, lambda r: fitness(wo, r)), acc_c),
               " ".join("%+.2f" % x for x in wo)))


if __name__ == "__main__":
    main()
