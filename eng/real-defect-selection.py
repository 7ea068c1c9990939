#!/usr/bin/env python3
"""Choosing head or reconstruction scoring on a third of the real test defects, reported on the other two thirds.

Reads the committed per-image scores of the same models scored by reconstruction (docs/results/default-seeds,
no head: its generator is bit for bit that of the head model) and by the head (docs/results/head-after-test,
head width 16, weight 1). For each fold k = 0, 1, 2 the images whose number is k modulo 3 (normal and
anomalous) play the few real defects a user holds back (`daad train --select --select-on <folder>`); the rule
is the library's (SelectionChoice): the configured head stays unless reconstruction beats it by more than one
Hanley-McNeil standard error of the head's AUROC on those images. The chosen scoring's AUROC is then measured
on the other two thirds, which the choice never saw. No training; python3 only.

    python3 eng/real-defect-selection.py [set ...]      (default: grass grass-subtle)
"""
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "docs" / "results"


def auroc(normal, anomalous):
    wins = sum(1.0 if a > n else 0.5 if a == n else 0.0 for a in anomalous for n in normal)
    return wins / (len(normal) * len(anomalous))


def standard_error(a, n_anomalous, n_normal):
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return math.sqrt((a * (1 - a) + (n_anomalous - 1) * (q1 - a * a) + (n_normal - 1) * (q2 - a * a)) / (n_anomalous * n_normal))


def scores(path):
    images = json.loads(path.read_text())["images"]
    return {i["path"].split("/test/")[-1]: (i["label"], i["score"]) for i in images}


def fold_of(name):
    return int(Path(name).stem) % 3


def measure(by, names):
    normal = [by[p][1] for p in names if by[p][0] == 0]
    anomalous = [by[p][1] for p in names if by[p][0] == 1]
    return auroc(normal, anomalous), len(anomalous), len(normal)


def main(sets):
    print("| set | seed | fold | held back: reconstruction / head (SE) | chosen | other two thirds: reconstruction / head | chosen's AUROC |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    for name in sets:
        for seed in (1, 2, 3):
            reconstruction = scores(ROOT / "default-seeds" / f"{name}-seed{seed}.json")
            head = scores(ROOT / "head-after-test" / f"{name}-seed{seed}.json")
            for k in range(3):
                held = [p for p in head if fold_of(p) == k]
                rest = [p for p in head if fold_of(p) != k]
                r_held, n_a, n_n = measure(reconstruction, held)
                h_held, _, _ = measure(head, held)
                se = standard_error(h_held, n_a, n_n)
                choice = "reconstruction" if r_held - h_held > se else "head"
                r_rest, _, _ = measure(reconstruction, rest)
                h_rest, _, _ = measure(head, rest)
                chosen = r_rest if choice == "reconstruction" else h_rest
                totals.setdefault(name, []).append((r_rest, h_rest, chosen))
                print(f"| {name} | {seed} | {k} | {r_held:.3f} / {h_held:.3f} ({se:.3f}) | {choice} | {r_rest:.3f} / {h_rest:.3f} | {chosen:.3f} |")
    print()
    print("| set | reconstruction always | head always | chosen on the held-back third |")
    print("|---|---|---|---|")
    for name, rows in totals.items():
        mean = [sum(r[i] for r in rows) / len(rows) for i in range(3)]
        print(f"| {name} | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["grass", "grass-subtle"])
