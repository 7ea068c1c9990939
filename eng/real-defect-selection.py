#!/usr/bin/env python3
"""Choosing the head's weight on a third of the real test defects, reported on the other two thirds.

Reads the committed per-image scores of the same models scored by reconstruction (w = 0: docs/results/default-seeds,
no head: its generator is bit for bit that of the head model) and by the head alone (w = 1:
docs/results/head-after-test, head width 16). A calibrated score is (1 - w) * A_rec + w * H~, so the score at
w = 0.5 is the mean of the two, exactly (checked against `daad eval --head-weight 0.5`). For each fold k = 0, 1, 2
the images whose number is k modulo 3 (normal and anomalous) play the few real defects a user holds back
(`daad train --select --select-on <folder>`, which scores head weights 0, 0.5 and 1); the rule is the library's
(SelectionChoice): the configured weight (0.5, the default) stays unless another beats it by more than one
Hanley-McNeil standard error of its AUROC on those images. The chosen weight's AUROC is then measured on the
other two thirds, which the choice never saw. No training; python3 only.

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


WEIGHTS = (0.0, 0.5, 1.0)
CONFIGURED = 0.5


def main(sets):
    print("| set | seed | fold | held back: w = 0 / 0.5 / 1 (SE of 0.5) | chosen w | other two thirds: w = 0 / 0.5 / 1 | chosen's AUROC |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    for name in sets:
        for seed in (1, 2, 3):
            reconstruction = scores(ROOT / "default-seeds" / f"{name}-seed{seed}.json")
            head = scores(ROOT / "head-after-test" / f"{name}-seed{seed}.json")
            by_weight = {w: {p: (head[p][0], (1 - w) * reconstruction[p][1] + w * head[p][1]) for p in head} for w in WEIGHTS}
            for k in range(3):
                held = [p for p in head if fold_of(p) == k]
                rest = [p for p in head if fold_of(p) != k]
                on_held = {w: measure(by_weight[w], held) for w in WEIGHTS}
                on_rest = {w: measure(by_weight[w], rest)[0] for w in WEIGHTS}
                configured, n_a, n_n = on_held[CONFIGURED]
                se = standard_error(configured, n_a, n_n)
                best = max(WEIGHTS, key=lambda w: on_held[w][0])
                choice = best if on_held[best][0] - configured > se else CONFIGURED
                totals.setdefault(name, []).append([on_rest[w] for w in WEIGHTS] + [on_rest[choice]])
                held_text = " / ".join(f"{on_held[w][0]:.3f}" for w in WEIGHTS)
                rest_text = " / ".join(f"{on_rest[w]:.3f}" for w in WEIGHTS)
                print(f"| {name} | {seed} | {k} | {held_text} ({se:.3f}) | {choice:g} | {rest_text} | {on_rest[choice]:.3f} |")
    print()
    print("| set | w = 0 always | w = 0.5 always | w = 1 always | chosen on the held-back third |")
    print("|---|---|---|---|---|")
    for name, rows in totals.items():
        mean = [sum(r[i] for r in rows) / len(rows) for i in range(4)]
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in mean) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["grass", "grass-subtle"])
