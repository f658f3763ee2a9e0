#!/usr/bin/env python3
"""Compares engine_bench binaries (two builds of the engine) on one model.

Runs each binary in turn, RUNS times (A, B, A, B, ...), so that all of them
see the same states of a shared machine, each run being

    BINARY --batches BATCH --only MODEL --skip-threads --skip-scalar --json --reps REPS

and prints, per binary, the medians over its runs of the model's samples/s,
dense's samples/s, the model's step against dense ("vs dense", itself the
median of alternated repetitions inside each run) and its first layer
against XNNPACK's. Asserts nothing about time.

Example (docs/benchmarks.md, Engine, session 6):

    bench/engine_ab.py /tmp/before/engine_bench build/release/bench/engine_bench \\
        --runs 8 --model clos-10 --batch 64
"""
import argparse
import json
import statistics
import subprocess
import sys


def one_run(binary, model, batch, reps):
    cmd = [binary, "--batches", str(batch), "--only", model, "--skip-threads",
           "--skip-scalar", "--json", "--reps", str(reps)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        sys.exit(f"engine_ab: cannot run {binary}: {e.strerror}")
    if out.returncode != 0:
        sys.exit(f"engine_ab: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
    steps = {s["model"]: s for s in json.loads(out.stdout)["steps"]}
    if model not in steps:
        sys.exit(f"engine_ab: {binary} printed no figures for {model}")
    m, d = steps[model], steps["dense"]
    return {"samples_per_s": m["samples_per_s"], "dense_samples_per_s": d["samples_per_s"],
            "vs_dense": m["vs_dense"], "layer1_vs_xnnpack": m["layer1_vs_xnnpack"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+", help="engine_bench programs to compare")
    ap.add_argument("--runs", type=int, default=6, help="runs of each binary (default 6)")
    ap.add_argument("--model", default="clos-10", help="model besides dense (default clos-10)")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--reps", type=int, default=3, help="engine_bench --reps (default 3)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args()
    if a.runs < 1:
        sys.exit("engine_ab: --runs must be at least 1")
    runs = {b: [] for b in a.binaries}
    for i in range(a.runs):
        for b in a.binaries:
            runs[b].append(one_run(b, a.model, a.batch, a.reps))
        if not a.json:
            print(f"run {i + 1}/{a.runs}: " + ", ".join(
                f"{r[-1]['vs_dense']:.2f}x" for r in runs.values()), file=sys.stderr)
    summary = []
    for b, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        summary.append({"binary": b, "model": a.model, "batch": a.batch, "runs": len(rs),
                        "median": med, "vs_dense_each": [r["vs_dense"] for r in rs]})
    if a.json:
        print(json.dumps(summary, indent=2))
        return
    for s in summary:
        m = s["median"]
        each = " ".join(f"{v:.2f}" for v in s["vs_dense_each"])
        print(f"{s['binary']}: {a.model} {m['samples_per_s']:.0f} samples/s, dense "
              f"{m['dense_samples_per_s']:.0f}, vs dense {m['vs_dense']:.3f}x ({each}), "
              f"L1/XNN {m['layer1_vs_xnnpack']:.3f}  [medians of {s['runs']} runs, batch {a.batch}]")


if __name__ == "__main__":
    main()
